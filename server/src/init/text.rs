//! The text of the files `init` writes: commented, so the admin can read
//! what each key does where it is.

use super::{Answers, MailAnswers, SMTP_CREDENTIAL};

/// A YAML scalar for `s`: plain when that reads back the same, else quoted.
pub(super) fn q(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-:$@+".contains(c))
        && !s.starts_with(['-', ':', '@'])
        && !s.ends_with(':')
        && !matches!(
            s,
            "true" | "false" | "yes" | "no" | "null" | "on" | "off" | "~"
        );
    if plain {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "''"))
    }
}

pub fn server_yaml(a: &Answers) -> String {
    let mut t = format!(
        "# Ronda server, written by `ronda-server init`.\n\
         # Check it:  ronda-server check --config /etc/ronda/server.yaml\n\
         # Every key: the README's \"Configuration\" section and examples/server.yaml.\n\
         # Durations are written 30s, 5m, 2h, 30d. Unknown keys are errors.\n\n\
         http:\n  \
         # Dashboard, JSON API, /metrics and /healthz. People open {url}:\n  \
         # 127.0.0.1 serves a reverse proxy on this machine; 0.0.0.0 the LAN.\n  \
         listen: {listen}\n  \
         # Browsers keep the login cookie only over HTTPS. Without a reverse\n  \
         # proxy in front, serve HTTPS here (docs/https.md in the Ronda source):\n  \
         # tls:\n  #   cert_file: /etc/ronda/ronda.pem\n  #   key_file: /etc/ronda/ronda.key\n  \
         # redirect_listen: 0.0.0.0:80\n  \
         # A reverse proxy whose X-Forwarded-For names the client:\n  \
         # trusted_proxies: [127.0.0.1]\n\n\
         broker:\n  \
         # The in-process MQTT broker. Agents log in as office/agent with the\n  \
         # password from `ronda-server mqtt-user add OFFICE AGENT`.\n  \
         embedded:\n    listen: 127.0.0.1:1883\n    \
         # MQTT over TLS for the offices' agents (README \"MQTT identity\"):\n    \
         # tls:\n    #   listen: 0.0.0.0:8883\n    \
         #   cert_file: /etc/ronda/broker.pem\n    #   key_file: /etc/ronda/broker.key\n\n\
         database:\n  \
         # SQLite; signatures and the audit log are evidence: back it up.\n  \
         path: {db}\n  report_retention: 30d\n\n\
         # The circular letters to enforce: every *.yaml in this folder. Check\n\
         # a new one with `ronda-server policy check --offices offices.yaml FILE`.\n\
         policies: letters\n\
         # The office registry: offices, heads, IT contacts.\n\
         offices: offices.yaml\n\n",
        url = a.url,
        listen = q(&a.listen.to_string()),
        db = q(&a.database.display().to_string()),
    );
    match &a.mail {
        Some(m) => t.push_str(&mail(a, m)),
        None => t.push_str(&format!(
            "# Email. Without it alerts are shown but not sent, and `user sync`\n\
             # cannot mail heads their links.\n\
             # mail:\n#   from: Ronda <ronda@example.go.id>\n#   dashboard_url: {}\n\
             #   smtp:\n#     host: smtp.example.go.id\n#     tls: starttls\n\
             #     username: ronda\n#     password_file: $CREDENTIALS_DIRECTORY/{SMTP_CREDENTIAL}\n",
            q(&a.url)
        )),
    }
    t
}

fn mail(a: &Answers, m: &MailAnswers) -> String {
    let mut t = format!(
        "# Email: alerts, reminders, and the heads' links from `user sync`.\n\
         mail:\n  from: {from}\n  \
         # id (Bahasa Indonesia) or en.\n  language: {lang}\n  \
         # The base of every link in a message.\n  dashboard_url: {url}\n  \
         smtp:\n    host: {host}\n",
        from = q(&m.from),
        lang = q(&m.language),
        url = q(&a.url),
        host = q(&m.host),
    );
    match m.port {
        Some(p) => t.push_str(&format!("    port: {p}\n")),
        None => t.push_str("    # port: 587 for starttls, 465 for implicit, 25 for none\n"),
    }
    t.push_str(&format!(
        "    # starttls (required), implicit, or none (a trusted relay only).\n    tls: {}\n",
        q(&m.tls)
    ));
    match &m.username {
        Some(u) => t.push_str(&format!(
            "    username: {}\n    \
             # The password is not in this file. Read by `run` at start-up.\n    \
             password_file: {}\n",
            q(u),
            q(&m.password_file)
        )),
        None => t.push_str(
            "    # username: ronda\n    # password_file: $CREDENTIALS_DIRECTORY/smtp-password\n",
        ),
    }
    match &m.ca_file {
        Some(ca) => t.push_str(&format!(
            "    # The private CA that signed the mail server's certificate.\n    ca_file: {}\n",
            q(&ca.display().to_string())
        )),
        None => t.push_str(
            "    # The mail server's certificate from a private CA: that CA (PEM).\n    \
             # ca_file: /etc/ronda/smtp-ca.pem\n",
        ),
    }
    t
}

pub fn offices_yaml(a: &Answers) -> String {
    let mut t = format!(
        "# The office registry, written by `ronda-server init`. Letters name the\n\
         # offices and groups here; mail finds its recipients here; `ronda-server\n\
         # user sync` makes an account for each head named here.\n\n\
         region:\n  name: {}\n  \
         # Asia/Jakarta (WIB), Asia/Makassar (WITA) or Asia/Jayapura (WIT).\n  \
         timezone: {}\n\n\
         # Named address lists, usable as recipients in a letter.\n\
         # contacts:\n#   diskominfo: [command-center@diskominfo.example.go.id]\n\n\
         # groups:\n#   pelayanan: [dinkes, disdukcapil]\n\n",
        q(&a.region),
        q(&a.timezone)
    );
    if a.offices.is_empty() {
        t.push_str(
            "# One entry per office; ids are lowercase letters, digits and '-'.\n\
             offices: []\n\
             #  - id: dinkes\n#    name: Dinas Kesehatan\n\
             #    head: {name: Kepala Dinas Kesehatan, email: kepala@dinkes.example.go.id}\n\
             #    it:\n#      - {name: Admin TI Dinkes, email: it@dinkes.example.go.id}\n",
        );
        return t;
    }
    t.push_str("# One entry per office; ids are lowercase letters, digits and '-'.\noffices:\n");
    for o in &a.offices {
        t.push_str(&format!(
            "  - id: {}\n    name: {}\n    head: {{name: {}, email: {}}}\n    \
             # it:\n    #   - {{name: Admin TI, email: it@example.go.id}}\n",
            q(&o.id),
            q(&o.name),
            q(&o.head_name),
            q(&o.head_email)
        ));
    }
    t
}
