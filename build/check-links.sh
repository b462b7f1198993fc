#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every relative link in README.md and docs/*.md points at a file that
# exists and, with a #anchor into a Markdown file, at a heading that exists
# there (anchors made as GitHub makes them: lower case, punctuation
# dropped, spaces to hyphens, -1, -2 for repeats). Code is not read.
set -euo pipefail
cd "$(dirname "$0")/.."
perl -CSD -Mutf8 -e '
    use strict; use warnings;
    use File::Basename qw(dirname);
    my (%anchors, $bad, $n);
    sub anchors {
        my ($f) = @_;
        return $anchors{$f} if $anchors{$f};
        my (%a, %seen, $fence);
        open(my $h, "<", $f) or return {};
        while (<$h>) {
            $fence = !$fence if /^```/;
            next if $fence || !/^#{1,6}\s+(.*?)\s*$/;
            (my $id = lc $1) =~ s/[^\w\- ]//g;
            $id =~ tr/ /-/;
            my $k = $seen{$id}++;
            $a{$k ? "$id-$k" : $id} = 1;
        }
        return $anchors{$f} = \%a;
    }
    for my $f (@ARGV) {
        open(my $h, "<", $f) or die "$f: $!";
        my ($fence, $ln) = (0, 0);
        while (my $l = <$h>) {
            $ln++;
            if ($l =~ /^```/) { $fence = !$fence; next; }
            next if $fence;
            $l =~ s/`[^`]*`//g;
            while ($l =~ /\]\(([^)\s]+)\)/g) {
                my $t = $1;
                next if $t =~ m{^[a-z][a-z0-9+.-]*:}i;
                $n++;
                my ($path, $frag) = split /#/, $t, 2;
                my $to = $path eq "" ? $f : dirname($f) . "/" . $path;
                if (!-e $to) {
                    print "$f:$ln: $t: no such file\n"; $bad = 1; next;
                }
                if (defined $frag && $to =~ /\.md$/ && !anchors($to)->{$frag}) {
                    print "$f:$ln: $t: no such heading\n"; $bad = 1;
                }
            }
        }
    }
    if ($bad) { print "check-links: 0 passed, 1 failed\n"; exit 1; }
    print "check-links: $n relative links, all lead to a file and heading\n";
' README.md docs/*.md
