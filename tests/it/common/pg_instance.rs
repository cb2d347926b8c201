//! A PostgreSQL server of the test's own (initdb + pg_ctl from
//! /usr/lib/postgresql/*/bin, in a temporary directory, on an ephemeral
//! port), for what the machine's shared server must not be used for: TLS,
//! password authentication, being down and coming back. Stopped (`pg_ctl
//! stop -m immediate`) when dropped. As root the server runs as the
//! `postgres` system user (initdb and postgres refuse to run as root).

use std::path::{Path, PathBuf};
use std::process::Command;

/// How the instance is set up.
#[derive(Clone, Debug, Default)]
pub struct PgOptions {
    /// The port to listen on (else a free ephemeral one).
    pub port: Option<u16>,
    /// PEM certificate and key the server presents (`ssl = on`); TCP
    /// connections are then accepted only over TLS (`hostssl`).
    pub tls: Option<(String, String)>,
    /// The superuser `postgres` needs this password over TCP
    /// (scram-sha-256); else trust.
    pub password: Option<String>,
}

pub struct PgInstance {
    pub port: u16,
    pub dir: tempfile::TempDir,
    bin: PathBuf,
    owner: Option<u32>,
    options: PgOptions,
}

/// The directory of `initdb`/`pg_ctl`, when PostgreSQL's server binaries are
/// installed. Same skip/require rule as [`super::machine_service`].
pub fn server_binaries() -> Option<PathBuf> {
    let found = std::fs::read_dir("/usr/lib/postgresql")
        .ok()
        .and_then(|versions| {
            versions
                .filter_map(|v| Some(v.ok()?.path().join("bin")))
                .filter(|bin| bin.join("initdb").is_file() && bin.join("pg_ctl").is_file())
                .max()
        });
    if found.is_none() {
        assert!(
            !super::services_required(),
            "PostgreSQL server binaries are required (FLOORWATCH_REQUIRE_SERVICES=1) but none are in /usr/lib/postgresql/*/bin"
        );
        eprintln!("skipped: no PostgreSQL server binaries in /usr/lib/postgresql/*/bin");
    }
    found
}

impl PgInstance {
    /// Initialises and starts a server; `None` (with the reason printed)
    /// when the binaries are absent. Panics when it fails to start.
    pub fn start(options: PgOptions) -> Option<PgInstance> {
        let bin = server_binaries()?;
        let dir = tempfile::tempdir().unwrap();
        let owner = postgres_uid_when_root();
        let instance = PgInstance {
            port: options.port.unwrap_or_else(crate::mqtt_support::free_port),
            dir,
            bin,
            owner,
            options,
        };
        instance.init(&instance.options);
        instance.start_again();
        Some(instance)
    }

    /// Starts the (stopped) server again, on the same port and data.
    pub fn start_again(&self) {
        self.pg_ctl_start(&self.options);
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres` plus `query`.
    pub fn url(&self, query: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/postgres{query}",
            self.port
        )
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn init(&self, options: &PgOptions) {
        let mut args = vec![
            "-D".into(),
            self.data().display().to_string(),
            "-U".into(),
            "postgres".into(),
            "--no-sync".into(),
            "-E".into(),
            "UTF8".into(),
            "--auth-local=trust".into(),
        ];
        match &options.password {
            Some(password) => {
                let file = self.write("pwfile", password);
                args.push("--auth-host=scram-sha-256".into());
                args.push(format!("--pwfile={}", file.display()));
            }
            None => args.push("--auth-host=trust".into()),
        }
        if let Some((cert, key)) = &options.tls {
            self.write("server.crt", cert);
            self.write("server.key", key);
        }
        self.chown_all();
        self.run("initdb", &args);
        if options.tls.is_some() {
            self.only_tls_over_tcp();
        }
    }

    /// `host` lines of pg_hba.conf become `hostssl`.
    fn only_tls_over_tcp(&self) {
        let path = self.data().join("pg_hba.conf");
        let text = std::fs::read_to_string(&path).unwrap();
        let text: Vec<String> = text
            .lines()
            .map(|l| match l.strip_prefix("host ") {
                Some(rest) => format!("hostssl {rest}"),
                None => l.to_owned(),
            })
            .collect();
        std::fs::write(&path, text.join("\n") + "\n").unwrap();
    }

    fn pg_ctl_start(&self, options: &PgOptions) {
        let mut settings = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=20",
            self.port,
            self.dir.path().display()
        );
        if options.tls.is_some() {
            let dir = self.dir.path().display();
            settings.push_str(&format!(
                " -c ssl=on -c ssl_cert_file={dir}/server.crt -c ssl_key_file={dir}/server.key"
            ));
        }
        let log = self.dir.path().join("server.log");
        let args: Vec<String> = vec![
            "start".into(),
            "-w".into(),
            "-t".into(),
            "60".into(),
            "-D".into(),
            self.data().display().to_string(),
            "-l".into(),
            log.display().to_string(),
            "-o".into(),
            settings,
        ];
        if !self.try_run("pg_ctl", &args) {
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            panic!("own PostgreSQL did not start on port {}:\n{log}", self.port);
        }
    }

    /// Writes a file the server's user can read (and only it: the key).
    fn write(&self, name: &str, text: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        path
    }

    fn chown_all(&self) {
        let Some(uid) = self.owner else { return };
        for entry in std::fs::read_dir(self.dir.path()).unwrap() {
            std::os::unix::fs::chown(entry.unwrap().path(), Some(uid), None).unwrap();
        }
        std::os::unix::fs::chown(self.dir.path(), Some(uid), None).unwrap();
    }

    fn run(&self, tool: &str, args: &[String]) {
        assert!(self.try_run(tool, args), "{tool} {args:?} failed");
    }

    /// Runs a server tool (as `postgres` when we are root).
    fn try_run(&self, tool: &str, args: &[String]) -> bool {
        let program = self.bin.join(tool);
        let mut command = match self.owner {
            Some(_) => {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(&program);
                c
            }
            None => Command::new(&program),
        };
        let output = command.args(args).output().unwrap();
        if !output.status.success() {
            eprintln!(
                "{tool}: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        output.status.success()
    }

    /// Stops the server at once (no checkpoint), as a crash would.
    pub fn stop(&self) {
        let args = [
            "stop".into(),
            "-w".into(),
            "-m".into(),
            "immediate".into(),
            "-D".into(),
            self.data().display().to_string(),
        ];
        self.try_run("pg_ctl", &args);
    }
}

impl Drop for PgInstance {
    fn drop(&mut self) {
        if self.data().join("postmaster.pid").exists() {
            self.stop();
        }
    }
}

/// The `postgres` user's uid when this process runs as root.
fn postgres_uid_when_root() -> Option<u32> {
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } != 0 {
        return None;
    }
    let out = Command::new("id")
        .args(["-u", "postgres"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "running as root, and there is no `postgres` user to run PostgreSQL as"
    );
    Some(String::from_utf8_lossy(&out.stdout).trim().parse().unwrap())
}

/// A CA (its PEM) and a server certificate and key it signed for 127.0.0.1
/// and localhost.
pub struct TestPki {
    pub ca_pem: String,
    pub server_pem: String,
    pub server_key: String,
}

impl TestPki {
    pub fn generate() -> TestPki {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let server_key = KeyPair::generate().unwrap();
        let server = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap()
            .signed_by(&server_key, &ca)
            .unwrap();
        TestPki {
            ca_pem: ca.pem(),
            server_pem: server.pem(),
            server_key: server_key.serialize_pem(),
        }
    }

    /// Writes the CA's PEM to `dir/name`.
    pub fn write_ca(&self, dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, &self.ca_pem).unwrap();
        path
    }
}
