/* orgctl help COMMAND and COMMAND --help: what a command does, with
 * examples (docs/orgctl.md, orgctl(1) say the same at length). */

#include <stdio.h>
#include <string.h>

#include <apr_strings.h>

#include "orgctl.h"

typedef struct {
    const char *name;
    const char *text;
} help_t;

static const help_t helps[] = {
    {"org create",
     "Creates an organization. NAME is a lowercase slug ([a-z0-9], inner - or _,\n"
     "at most 50). Prints the new id.\n\n"
     "  orgctl org create acme --display-name \"Acme Corp\" --meta license=premium \\\n"
     "      --domain acme.com\n"
     "  id=$(orgctl org create beta)\n"},
    {"org list", "Lists the organizations.\n\n  orgctl org list\n  orgctl --json org list\n"},
    {"org show", "Shows an organization with its metadata, domains and connections.\n\n"
                 "  orgctl org show acme\n"},
    {"org update", "Changes the display name, metadata (--meta adds or replaces a key,\n"
                   "--unset-meta removes one) or branding shown on the org's sign-in pages:\n"
                   "--logo-url (https:// or data:image/ URL), --color-primary and\n"
                   "--color-background (#rrggbb); an empty value clears one.\n\n"
                   "  orgctl org update acme --meta tier=gold --unset-meta license\n"
                   "  orgctl org update acme --logo-url https://cdn.acme.com/logo.png \\\n"
                   "      --color-primary '#0b5cad' --color-background '#f2f6fb'\n"
                   "  orgctl org update acme --logo-url ''\n"},
    {"org delete", "Deletes an organization with its domains, enabled connections,\n"
                   "memberships, invitations and sessions, in one transaction. Asks first on\n"
                   "a terminal; scripts pass --yes.\n\n"
                   "  orgctl org delete acme\n  orgctl org delete acme --yes\n"},
    {"org add-domain", "Adds a domain (home-realm discovery at login); a domain belongs to one\n"
                       "organization.\n\n  orgctl org add-domain acme acme.io\n"},
    {"org remove-domain", "Removes a domain.\n\n  orgctl org remove-domain acme acme.io\n"},
    {"org enable-conn",
     "Enables a connection on an organization. With --auto-membership whoever\n"
     "signs in through it becomes a member; without, only existing members get in.\n"
     "On an issuer shared by many companies, add a condition: --require-claim\n"
     "NAME=VALUE (e.g. Google's hd) or --require-email-domain (a verified email in\n"
     "one of the org's domains).\n\n"
     "  orgctl org enable-conn acme acme-okta --auto-membership\n"
     "  orgctl org enable-conn acme google --auto-membership --require-claim hd=acme.com\n"},
    {"org disable-conn", "Disables a connection on an organization; ends its sessions there.\n\n"
                         "  orgctl org disable-conn acme acme-okta\n"},
    {"conn create", "Creates a connection to an OpenID Provider. Before storing it, fetches the\n"
                    "issuer's discovery document and JWKS and reports what they hold (--no-check\n"
                    "skips this, for offline setups). The client secret comes from a file (- for\n"
                    "standard input) or a variable, never the command line, and is stored\n"
                    "encrypted: the key file is required. Prints the new id.\n\n"
                    "  orgctl --key-file /etc/apache2/orgs.key conn create acme-okta \\\n"
                    "      --issuer https://acme.okta.com --client-id 0oa1b2c3 \\\n"
                    "      --client-secret-file /root/okta.secret\n"},
    {"conn list", "Lists the connections.\n\n  orgctl conn list\n"},
    {"conn show", "Shows a connection (never its secret) and the orgs it is enabled on.\n\n"
                  "  orgctl conn show acme-okta\n"},
    {"conn update", "Changes a connection. A new --issuer is checked as by conn create\n"
                    "(--no-check skips it); a new secret needs the key file. A new issuer on a\n"
                    "connection with users needs --migrate-users (same IdP, new URL) or\n"
                    "--drop-users (another IdP); either ends the connection's sessions.\n\n"
                    "  orgctl conn update acme-okta --display-name \"Acme SSO\"\n"
                    "  orgctl --key-file /etc/apache2/orgs.key conn update acme-okta \\\n"
                    "      --client-secret-env OKTA_SECRET\n"},
    {"conn delete", "Deletes a connection with its users, their memberships and sessions, and\n"
                    "its enablements. Asks first on a terminal; scripts pass --yes.\n\n"
                    "  orgctl conn delete acme-okta --yes\n"},
    {"user list", "Lists users, or the users with one email.\n\n"
                  "  orgctl user list --email jane@acme.com\n"},
    {"user show",
     "Shows a user and their memberships.\n\n  orgctl user show usr_Q2w7bC0dE9fG1hJk\n"},
    {"user delete", "Deletes a user with every membership and session.\n\n"
                    "  orgctl user delete usr_Q2w7bC0dE9fG1hJk\n"},
    {"user purge", "Deletes the users that belong to no organization and have not signed in\n"
                   "for DURATION (never signed in: since they were created), in batches of\n"
                   "short transactions. Prints how many went. httpd does the same hourly\n"
                   "(OrgsUserPurgeAfter).\n\n"
                   "  orgctl user purge --older-than 90d\n"
                   "  orgctl --json user purge --older-than 30d\n"},
    {"member add",
     "Adds a member: an existing user, or (--connection with --email or --sub)\n"
     "somebody before their first sign-in. Prints the user id.\n\n"
     "  orgctl member add acme --connection acme-okta --email jane@acme.com --role admin\n"
     "  orgctl member add acme usr_Q2w7bC0dE9fG1hJk\n"},
    {"member list", "Lists an organization's members with their roles.\n\n"
                    "  orgctl member list acme\n"},
    {"member remove", "Removes a member (and ends their sessions for the org).\n\n"
                      "  orgctl member remove acme --connection acme-okta --email jane@acme.com\n"
                      "  orgctl member remove acme usr_Q2w7bC0dE9fG1hJk\n"},
    {"role add", "Gives a member roles.\n\n"
                 "  orgctl role add acme --connection acme-okta --email jane@acme.com billing\n"
                 "  orgctl role add acme usr_Q2w7bC0dE9fG1hJk admin billing\n"},
    {"role remove", "Takes roles from a member.\n\n"
                    "  orgctl role remove acme --connection acme-okta --email jane@acme.com "
                    "billing\n"},
    {"invite create",
     "Invites an email into an organization with roles (--ttl 30m, 8h, 7d; default\n"
     "7d, at most 30d). Prints the invitation id, then the invitation URL: its\n"
     "ticket is shown this once (only its hash is kept). Following it, the invitee\n"
     "signs in through a connection enabled on the organization and becomes a\n"
     "member; the verified email must be the invited one unless --any-email.\n"
     "--url is the login endpoint's public URL (default /orgs/login); --inviter\n"
     "the name the page shows (default orgctl:USER). An organization holds at most\n"
     "--max-open open invitations (default 1000, as OrgsMaxInvitationsPerOrg; 0 = no\n"
     "limit): at it, its expired ones are removed, then the invitation is refused.\n\n"
     "  orgctl invite create acme bob@acme.com --role viewer --ttl 3d \\\n"
     "      --url https://app.example.com/orgs/login --inviter \"Jane (Acme IT)\"\n"},
    {"invite list", "Lists an organization's invitations.\n\n  orgctl invite list acme\n"},
    {"invite revoke", "Revokes an invitation: its URL no longer works.\n\n"
                      "  orgctl invite revoke inv_...\n"},
    {"token create", "Creates a bearer token for the admin API (Require org-api-token) and\n"
                     "prints it: the only time it is shown, the store keeps its hash. Scopes:\n"
                     "read (GET), write (changes); both by default. --expires 30m, 8h, 90d;\n"
                     "default never.\n\n"
                     "  orgctl token create --scope read --expires 90d --name reporting\n"},
    {"token list", "Lists the admin API tokens (never the tokens themselves).\n\n"
                   "  orgctl token list\n"},
    {"token revoke", "Revokes an admin API token at once.\n\n  orgctl token revoke tok_...\n"},
    {"org stats", "Shows an organization's usage over the last days (default 30, at most\n"
                  "400): members, members seen, sign-ins, denials and joins per day.\n\n"
                  "  orgctl org stats acme --days 7\n  orgctl --json org stats acme\n"},
    {"audit", "Lists the audit log, oldest first: every change to organizations,\n"
              "connections, domains, members, roles and invitations, with who, from where\n"
              "and the object before and after. --since takes a duration back from now\n"
              "or a UTC time; --from ID goes on after a record (the next page).\n\n"
              "  orgctl audit --org acme --since 24h\n"
              "  orgctl --json audit --since 2026-11-30T08:00:00Z --limit 500\n"},
    {"prune-audit", "Deletes audit records older than a duration (in short transactions;\n"
                    "httpd also prunes by OrgsAuditMaxAge).\n\n"
                    "  orgctl prune-audit --older-than 365d\n"},
    {"export", "Writes the store as JSON Lines (first line: its format version); client\n"
               "secrets stay sealed. Safe while httpd runs.\n\n"
               "  orgctl export /var/backups/orgs-$(date +%F).jsonl\n"},
    {"import", "Loads an export into the store in one transaction (all or nothing); a\n"
               "line with a key twice is refused.\n\n"
               "  orgctl --key-file /etc/apache2/orgs.key import orgs.jsonl\n"},
    {"check", "Verifies every index; with the key, checks it against the store and\n"
              "counts the client secrets that decrypt. Exit 1 when a problem is found,\n"
              "5 for a wrong key or a damaged file. --deep also reads every byte of\n"
              "every record; the check runs in a child process, so damage that makes\n"
              "LMDB abort is reported, not a crash.\n\n"
              "  orgctl --key-file /etc/apache2/orgs.key check\n"
              "  orgctl check --deep\n"},
    {"backup", "Writes a compacted copy of the store to FILE (mode 0600), consistent\n"
               "while httpd and other commands write.\n\n"
               "  orgctl backup /var/backups/orgs-$(date +%F).mdb\n"},
    {"init", "Creates the schema of a PostgreSQL store (or upgrades an older one), in\n"
             "one transaction; safe to run again. The password comes from a passfile=\n"
             "file in the URI, PGPASSFILE or ~/.pgpass, never from the URI itself.\n\n"
             "  ORGS_STORE='postgresql://orgs@db1/orgs?passfile=/etc/apache2/orgs.pgpass' \\\n"
             "      orgctl init\n"},
    {"migrate", "Copies the store into the other kind: an LMDB store (-s DIR) into an\n"
                "empty PostgreSQL database (schema created), or a PostgreSQL store into a\n"
                "directory without a store. Secrets stay sealed: keep the same key.\n\n"
                "  orgctl -s /var/lib/apache2/orgs migrate --to postgresql://orgs@db1/orgs\n"
                "  ORGS_STORE=postgresql://orgs@db1/orgs orgctl migrate --to /srv/orgs-copy\n"},
    {"replicate", "Brings an LMDB replica directory up to date with a PostgreSQL store\n"
                  "once (rebuilt when new or of another database), as httpd's replicator\n"
                  "does continuously; safe while httpd runs.\n\n"
                  "  orgctl -s postgresql://orgs@db1/orgs replicate /var/cache/apache2/orgs\n"},
    {"replica-status",
     "How far the LMDB replica in DIR is behind the PostgreSQL store's change\n"
     "log: its position, the log's newest and the difference (read only,\n"
     "safe while httpd runs). At 0 behind, the replica holds every change\n"
     "committed before the command.\n\n"
     "  orgctl -s postgresql://orgs@db1/orgs replica-status /var/cache/apache2/orgs\n"},
    {"prune-log", "Prunes a PostgreSQL store's change log: the changes older than\n"
                  "--older-than and not among the newest --keep go, in one transaction.\n"
                  "A node whose replica is behind the pruned point rebuilds it from a\n"
                  "snapshot when it next reads the log (ORGS00838); keep more than the\n"
                  "longest a node stays down to avoid that. Run it from cron.\n\n"
                  "  orgctl -s postgresql://orgs@db1/orgs prune-log --older-than 7d\n"},
    {"restore", "Installs a backup as the store's data.mdb after checking it. Refused\n"
                "while any process has the store open: stop httpd first.\n\n"
                "  orgctl restore /var/backups/orgs-2026-11-30.mdb\n"},
    {"doctor", "One report on the store (format, size), the key, every connection's\n"
               "discovery document and JWKS (--no-network skips them) and httpd's\n"
               "configuration under --apache-dir (default /etc/apache2): does it name\n"
               "this store and this key? Exit 1 when something is wrong.\n\n"
               "  orgctl -s /var/lib/apache2/orgs --key-file /etc/apache2/orgs.key doctor\n"},
    {"help", "Help on every command, or on one.\n\n  orgctl help\n  orgctl help conn create\n"},
};

static const char *usage_of(const command_t *k, apr_pool_t *p)
{
    return apr_psprintf(p, "orgctl %s%s%s%s%s", k->group, k->verb ? " " : "",
                        k->verb ? k->verb : "", *k->usage ? " " : "", k->usage);
}

int cli_help_command(cli_t *c, const command_t *table, apr_size_t n, const char *words)
{
    int group = 0;
    for (apr_size_t i = 0; i < n; i++) {
        const command_t *k = &table[i];
        const char *name = k->verb ? apr_pstrcat(c->p, k->group, " ", k->verb, NULL) : k->group;
        if (strcmp(name, words) == 0) {
            printf("usage: %s\n\n", usage_of(k, c->p));
            for (apr_size_t h = 0; h < sizeof(helps) / sizeof(helps[0]); h++) {
                if (strcmp(helps[h].name, name) == 0) {
                    fputs(helps[h].text, stdout);
                }
            }
            return RC_OK;
        }
        group |= k->verb && strcmp(k->group, words) == 0;
    }
    if (!group) {
        return cli_fail(c, RC_USAGE, "unknown command '%s' (orgctl help lists the commands)",
                        words);
    }
    printf("%s commands (orgctl help %s VERB for one):\n", words, words);
    for (apr_size_t i = 0; i < n; i++) {
        if (table[i].verb && strcmp(table[i].group, words) == 0) {
            printf("  %s\n", usage_of(&table[i], c->p));
        }
    }
    return RC_OK;
}
