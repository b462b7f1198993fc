#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds mod_fedauth and runs a demo on 127.0.0.1: httpd with the module
# (embedded shm session store) in front of a local OpenID Provider (the
# test IdP, npm oidc-provider). Sign in as alice / alice-password.
# Ctrl-C stops both. Ports: HTTPD_PORT (8080) and IDP_PORT (8081); a port
# already in use is found before anything starts, and every wait is
# bounded. Installs only the demo's dependencies (build/deps.sh --demo).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
httpd_port=${HTTPD_PORT:-8080}
idp_port=${IDP_PORT:-8081}

# port_busy PORT: true when something on this host accepts connections on
# 127.0.0.1:PORT (bash's /dev/tcp, bounded by timeout).
port_busy() {
    timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}
for v in HTTPD_PORT:$httpd_port IDP_PORT:$idp_port; do
    if port_busy "${v#*:}"; then
        echo "demo: port ${v#*:} on 127.0.0.1 is already in use by another program." >&2
        echo "demo: choose a free one with ${v%%:*}, e.g." \
             "${v%%:*}=$(( ${v#*:} + 10 )) build/demo.sh" >&2
        exit 1
    fi
done
[ "$httpd_port" != "$idp_port" ] || {
    echo "demo: HTTPD_PORT and IDP_PORT must differ" >&2; exit 1; }

bash build/deps.sh --demo
echo "demo: building mod_fedauth"
[ -x configure ] || autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
[ -f Makefile ] || ./configure -q
make -j2 -s >/dev/null

dir=$(mktemp -d /tmp/fedauth-demo-XXXXXX)
chmod 0755 "$dir"
mkdir -p "$dir/htdocs/protected" "$dir/cgi-bin" "$dir/logs"
issuer="http://127.0.0.1:$idp_port"
base="http://127.0.0.1:$httpd_port"

cat > "$dir/idp.json" <<JSON
{ "port": $idp_port, "issuer": "$issuer",
  "clients": [{ "client_id": "demo", "client_secret": "demo-secret-0123456789",
                "redirect_uris": ["$base/signin-local"],
                "token_endpoint_auth_method": "client_secret_basic",
                "grant_types": ["authorization_code"], "response_types": ["code"] }],
  "users": [{ "username": "alice", "password": "alice-password",
              "claims": { "sub": "alice-0001", "preferred_username": "alice",
                          "email": "alice@example.org", "email_verified": true,
                          "name": "Alice Liddell", "given_name": "Alice",
                          "family_name": "Liddell", "locale": "en-GB" } }] }
JSON

cat > "$dir/cgi-bin/whoami.cgi" <<'CGI'
#!/bin/sh
printf 'Content-Type: text/html; charset=utf-8\r\n\r\n'
esc() { sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g'; }
echo '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Signed in</title></head>'
echo '<body style="font-family:sans-serif;max-width:40em;margin:3em auto">'
echo "<h1>Hello, $(printf %s "$REMOTE_USER" | esc)</h1><p>What this page receives from mod_fedauth:</p><pre>"
env | grep -E '^(REMOTE_USER|AUTH_TYPE|FEDAUTH_|HTTP_X_FEDAUTH_)' | LC_ALL=C sort | esc
echo '</pre><p><a href="/fedauth/session">/fedauth/session</a> &middot; <a href="/fedauth/logout?return_to=/">Sign out</a></p></body></html>'
CGI
chmod 0755 "$dir/cgi-bin/whoami.cgi"
cat > "$dir/htdocs/index.html" <<'HTML'
<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>mod_fedauth demo</title></head>
<body style="font-family:sans-serif;max-width:40em;margin:3em auto">
<h1>mod_fedauth demo</h1><p>This page is public. <a href="/protected/">The protected page</a> needs a sign-in
(alice / alice-password).</p></body></html>
HTML

user_lines=""
[ "$(id -u)" -eq 0 ] && user_lines=$'User www-data\nGroup www-data'
mods=/usr/lib/apache2/modules
cat > "$dir/httpd.conf" <<CONF
ServerRoot "$dir"
Listen 127.0.0.1:$httpd_port
ServerName 127.0.0.1:$httpd_port
PidFile "$dir/httpd.pid"
DefaultRuntimeDir "$dir"
Mutex file:$dir default
ErrorLog "$dir/logs/error.log"
LogLevel warn fedauth:info
$user_lines
LoadModule mpm_event_module $mods/mod_mpm_event.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule authz_user_module $mods/mod_authz_user.so
LoadModule authn_core_module $mods/mod_authn_core.so
LoadModule mime_module $mods/mod_mime.so
LoadModule dir_module $mods/mod_dir.so
LoadModule alias_module $mods/mod_alias.so
LoadModule cgid_module $mods/mod_cgid.so
LoadModule fedauth_module $top/.libs/mod_fedauth.so
TypesConfig /etc/mime.types
DocumentRoot "$dir/htdocs"
DirectoryIndex index.html
ScriptSock "$dir/cgid.sock"

<FedAuthProvider local>
    DisplayName  "Local demo IdP"
    Issuer       $issuer
    ClientID     demo
    ClientSecret demo-secret-0123456789
    Scopes       "openid email profile"
</FedAuthProvider>

ScriptAlias /protected/ "$dir/cgi-bin/whoami.cgi/"
<Location /protected/>
    AuthType FedAuth
    Require valid-user
</Location>
CONF

pids=()
stop() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$dir"
}
trap stop EXIT INT TERM

node t/idp/server.mjs --config "$dir/idp.json" > "$dir/logs/idp.log" 2>&1 &
pids+=($!)
# Each wait below is bounded (10 s): a port taken between the check above
# and here, or a program that accepts and never answers, ends the demo
# with a message instead of a hang.
for _ in $(seq 1 100); do grep -q READY "$dir/logs/idp.log" && break; sleep 0.1; done
grep -q READY "$dir/logs/idp.log" || {
    echo "demo: the IdP did not start on 127.0.0.1:$idp_port within 10 s" \
         "(IDP_PORT moves it):" >&2
    cat "$dir/logs/idp.log" >&2; exit 1; }
/usr/sbin/apache2 -f "$dir/httpd.conf" -DFOREGROUND &
pids+=($!)
ready=0
for _ in $(seq 1 50); do
    kill -0 "${pids[1]}" 2>/dev/null || break
    # our own page, not whatever else may answer on the port
    if curl -s -m 2 "$base/" 2>/dev/null | grep -q '<h1>mod_fedauth demo</h1>'; then
        ready=1; break
    fi
    sleep 0.2
done
if [ "$ready" != 1 ]; then
    echo "demo: httpd did not start on 127.0.0.1:$httpd_port within 10 s" \
         "(HTTPD_PORT moves it):" >&2
    tail -n 20 "$dir/logs/error.log" >&2 2>/dev/null
    exit 1
fi
echo
echo "mod_fedauth demo: open $base/protected/ and sign in as alice / alice-password"
echo "(IdP at $issuer; error log $dir/logs/error.log; Ctrl-C stops)"
wait "${pids[1]}"
