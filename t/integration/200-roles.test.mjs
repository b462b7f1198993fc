// SPDX-License-Identifier: Apache-2.0
// Roles from groups (issue4.md): GroupsClaim (array, one string, dotted
// path), GroupMap (exact, case-sensitive), FEDAUTH_ROLES / X-FedAuth-Roles
// sorted and each role once; when nothing matched FedAuthDefaultRole wins
// over FallbackRole, and with neither the user has no role ("").
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  startSite, Browser, parseEnv, dump, testUser, perProviderLocations,
} from '../lib/index.mjs';

const GROUP_MAPS = `    GroupsClaim   groups
    GroupMap "wonderland-admins" admin
    GroupMap "staff" staff
    GroupMap "editors" editor
    GroupMap "team-a" editor
    GroupMap "Team B" zeta
    GroupMap "Auditors" auditor
`;

const noGroups = (u) => {
  delete u.claims.groups;
  return u;
};

const USERS = [
  testUser('ada', 'R', { groups: ['staff', 'wonderland-admins', 'editors'] }),
  // two groups for one role, a group with a space, a group nobody maps
  testUser('ted', 'R', { groups: ['team-a', 'editors', 'Team B', 'unknown'] }),
  // same letters, other case: no match
  testUser('ann', 'R', { groups: ['auditors', 'STAFF', 'Editors'] }),
  // groups as one string, separated by spaces and commas
  testUser('sam', 'R', { groups: 'staff editors,team-a' }),
  // no groups claim at all
  noGroups(testUser('nob', 'R')),
  // groups in a nested claim (Keycloak's realm_access.roles)
  noGroups(testUser('kira', 'R', { realm_access: { roles: ['editors', 'staff', 'offline_access'] } })),
];

describe('roles from GroupMap, FedAuthDefaultRole and FallbackRole', () => {
  let site;
  let base;

  before(async () => {
    site = await startSite({
      users: USERS,
      providers: [
        // GroupMaps and a FallbackRole
        { id: 'grp', extra: `${GROUP_MAPS}    FallbackRole  viewer\n` },
        // GroupMaps, no FallbackRole
        { id: 'plain', extra: GROUP_MAPS },
        // groups from a dotted path, with a FallbackRole
        { id: 'kc', extra: `${GROUP_MAPS.replace('GroupsClaim   groups', 'GroupsClaim   realm_access.roles')}    FallbackRole  viewer\n` },
      ],
      locationsConf: perProviderLocations(['grp', 'plain', 'kc']),
    });
    base = site.base;
  });
  after(async () => {
    await site?.stop();
    site?.cleanup();
  });

  /** Sign `user` in through provider `id`; returns env.cgi's variables. */
  async function signIn(id, user) {
    const b = new Browser();
    const r = await b.login(`${base}/p/${id}/env.cgi`, user, `${user}-pass-R`);
    assert.equal(r.status, 200, `login of ${user} through ${id}\n${dump(r)}`);
    const env = parseEnv(r.body);
    assert.equal(env.REMOTE_USER, user, r.body);
    assert.equal(env.FEDAUTH_IDP, id, r.body);
    return { env, body: r.body };
  }

  function assertRoles({ env, body }, expected, what) {
    assert.equal(env.FEDAUTH_ROLES, expected, `${what}: FEDAUTH_ROLES\n${body}`);
    assert.equal(env.HTTP_X_FEDAUTH_ROLES, expected, `${what}: X-FedAuth-Roles as the CGI sees it\n${body}`);
  }

  describe('without FedAuthDefaultRole', () => {
    it('several matching groups: every role, sorted', async () => {
      assertRoles(await signIn('grp', 'ada'), 'admin,editor,staff', 'ada');
    });

    it('two groups mapping to one role give it once; a group with a space matches; unmapped groups add nothing', async () => {
      assertRoles(await signIn('grp', 'ted'), 'editor,zeta', 'ted');
    });

    it('groups as one string separated by spaces and commas', async () => {
      assertRoles(await signIn('grp', 'sam'), 'editor,staff', 'sam');
    });

    it('groups from a dotted path (GroupsClaim realm_access.roles)', async () => {
      assertRoles(await signIn('kc', 'kira'), 'editor,staff', 'kira via kc');
    });

    it('GroupMap is case-sensitive: nothing matched -> the FallbackRole', async () => {
      assertRoles(await signIn('grp', 'ann'), 'viewer', 'ann via grp');
    });

    it('no groups claim at all -> the FallbackRole', async () => {
      assertRoles(await signIn('grp', 'nob'), 'viewer', 'nob via grp');
    });

    it('nothing matched, no FallbackRole, no FedAuthDefaultRole -> no role ("")', async () => {
      assertRoles(await signIn('plain', 'ann'), '', 'ann via plain');
      assertRoles(await signIn('plain', 'nob'), '', 'nob via plain');
    });

    it('a FallbackRole is not added when a group matched', async () => {
      assertRoles(await signIn('grp', 'ada'), 'admin,editor,staff', 'ada via grp');
      assertRoles(await signIn('plain', 'sam'), 'editor,staff', 'sam via plain');
    });
  });

  describe('with FedAuthDefaultRole member', () => {
    before(async () => {
      await site.restartHttpd({ serverConf: 'FedAuthDefaultRole member\n' });
    });

    it('nothing matched: FedAuthDefaultRole wins over the FallbackRole', async () => {
      assertRoles(await signIn('grp', 'ann'), 'member', 'ann via grp');
      assertRoles(await signIn('kc', 'nob'), 'member', 'nob via kc (no realm_access)');
    });

    it('nothing matched and no FallbackRole: FedAuthDefaultRole', async () => {
      assertRoles(await signIn('plain', 'nob'), 'member', 'nob via plain');
    });

    it('groups matched: only the mapped roles, not the default', async () => {
      assertRoles(await signIn('grp', 'ada'), 'admin,editor,staff', 'ada via grp');
      assertRoles(await signIn('grp', 'ted'), 'editor,zeta', 'ted via grp');
    });
  });

  it('httpd stops cleanly; the error logs have no crash lines', async () => {
    const info = await site.httpd.stop();
    assert.equal(info.signal, null, `httpd exit ${JSON.stringify(info)}`);
    assert.deepEqual(site.troubles(), [], `trouble:\n${site.troubles().join('\n')}\n--- error log ---\n${site.errorLog()}`);
  });
});
