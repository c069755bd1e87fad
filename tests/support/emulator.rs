//! The AWS emulator for tests: moto in server mode, started once per test binary by the project's
//! launcher (`emulator/server.py`, which applies the patches) on a free port of 127.0.0.1.
//! If moto cannot start, the test fails: it is never skipped.
//!
//! Tests isolate themselves by account: [`Emulator::sdk`] assumes a role in a fresh account id,
//! so every test sees empty KMS, Kinesis, Secrets Manager, DynamoDB and Config backends.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sts::config::Credentials;

/// The running emulator.
pub struct Emulator {
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    // Closing moto's stdin (when the test process exits) stops it.
    _stdin: Mutex<ChildStdin>,
    _child: Mutex<Child>,
}

/// Workspace root (the tests crate sits one level below it).
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests crate has a parent")
        .to_path_buf()
}

/// The Python of the project's venv (`scripts/setup` creates it), or `CMK_EMULATOR_PYTHON`.
pub fn python() -> PathBuf {
    std::env::var_os("CMK_EMULATOR_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv/bin/python"))
}

static EMULATOR: OnceLock<Emulator> = OnceLock::new();
static NEXT_ACCOUNT: AtomicU64 = AtomicU64::new(0);

impl Emulator {
    /// The emulator of this test binary, started on first use.
    pub fn shared() -> &'static Emulator {
        EMULATOR.get_or_init(Emulator::start)
    }

    fn start() -> Emulator {
        let python = python();
        assert!(
            python.exists(),
            "{} not found: run `scripts/setup` to create the emulator venv",
            python.display()
        );
        let mut child = Command::new(&python)
            .arg(workspace().join("emulator/server.py"))
            .args(["--port", "0"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start moto with {}: {e}", python.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("moto did not report READY within 60 s");
        let port = line
            .strip_prefix("READY ")
            .and_then(|p| p.trim().parse::<u16>().ok())
            .unwrap_or_else(|| panic!("unexpected launcher output: {line:?}"));
        let stdin = child.stdin.take().expect("piped stdin");
        Emulator {
            endpoint: format!("http://127.0.0.1:{port}"),
            _stdin: Mutex::new(stdin),
            _child: Mutex::new(child),
        }
    }

    /// Creates an S3 bucket holding one object (e.g. the rule's code zip), with two plain HTTP
    /// requests: moto does not check signatures, and no S3 SDK is needed just for this. The
    /// bucket lands in moto's default account; bucket names are global, so Lambda functions in
    /// any account find it, as with an organization-readable bucket in AWS.
    pub fn put_object(&self, bucket: &str, key: &str, body: &[u8]) {
        use std::io::{Read, Write};
        let host = self.endpoint.trim_start_matches("http://");
        for (path, payload) in [
            (format!("/{bucket}"), &[][..]),
            (format!("/{bucket}/{key}"), body),
        ] {
            let mut stream = std::net::TcpStream::connect(host).expect("emulator reachable");
            let head = format!(
                "PUT {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                payload.len()
            );
            stream.write_all(head.as_bytes()).unwrap();
            stream.write_all(payload).unwrap();
            let mut response = String::new();
            stream.read_to_string(&mut response).unwrap();
            assert!(
                response.starts_with("HTTP/1.1 200"),
                "PUT {path}: {}",
                response.lines().next().unwrap_or_default()
            );
        }
    }

    /// The standard AWS environment variables that point a process (the `guardrails` binary) at
    /// the emulator as `account`, with nothing read from the user's own AWS configuration.
    pub async fn env_vars(&self, account: &str, region: &str) -> Vec<(&'static str, String)> {
        let creds = self.credentials(account).await;
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_REGION", region.to_owned()),
            ("AWS_ACCESS_KEY_ID", creds.access_key_id().to_owned()),
            (
                "AWS_SECRET_ACCESS_KEY",
                creds.secret_access_key().to_owned(),
            ),
            (
                "AWS_SESSION_TOKEN",
                creds.session_token().unwrap_or_default().to_owned(),
            ),
            ("AWS_CONFIG_FILE", "/dev/null".to_owned()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ]
    }

    /// A fresh 12-digit account id, unique within this test binary.
    pub fn new_account() -> String {
        let n = NEXT_ACCOUNT.fetch_add(1, Ordering::Relaxed);
        format!(
            "{:012}",
            300_000_000_000 + u64::from(std::process::id() % 1000) * 1_000_000 + n
        )
    }

    fn base(&self, region: &str, credentials: Credentials) -> SdkConfig {
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .endpoint_url(&self.endpoint)
            .credentials_provider(aws_sdk_sts::config::SharedCredentialsProvider::new(
                credentials,
            ))
            .http_client(cmk_rule::aws::http_client())
            .build()
    }

    /// SDK configuration acting as `account` in `region`, through a real STS AssumeRole.
    pub async fn sdk(&self, account: &str, region: &str) -> SdkConfig {
        let creds = self.credentials(account).await;
        self.base(region, creds)
    }

    /// Creates the IAM role `name` in `account`, trusting `principal` (an ARN, an account id or
    /// `*`). An existing role is left as it is.
    pub fn create_role(&self, account: &str, name: &str, principal: &str) {
        let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": principal}}]});
        let response = self.iam(
            account,
            &[
                ("Action", "CreateRole"),
                ("RoleName", name),
                ("AssumeRolePolicyDocument", &trust.to_string()),
            ],
        );
        assert!(
            response.starts_with("HTTP/1.1 200") || response.contains("EntityAlreadyExists"),
            "CreateRole {name} in {account}: {response}"
        );
    }

    /// One IAM query-API request in `account`, named by moto's `x-moto-account-id` header (test
    /// setup, as with [`Emulator::put_object`]: it needs no credentials of that account); returns
    /// the raw HTTP response.
    pub fn iam(&self, account: &str, params: &[(&str, &str)]) -> String {
        use std::io::{Read, Write};
        let encode = |s: &str| {
            s.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect::<String>()
        };
        let mut body = "Version=2010-05-08".to_owned();
        for (k, v) in params {
            body.push_str(&format!("&{k}={}", encode(v)));
        }
        let host = self.endpoint.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(host).expect("emulator reachable");
        let head = format!(
            "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0\r\n\
             x-moto-account-id: {account}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    }

    /// Temporary credentials of `account` (moto maps them to that account), from AssumeRole of a
    /// test role created there first (the emulator, as AWS, refuses roles that do not exist).
    pub async fn credentials(&self, account: &str) -> Credentials {
        static ROLES: Mutex<Vec<String>> = Mutex::new(Vec::new());
        {
            // Held while the role is created: no test assumes it before it exists.
            let mut made = ROLES.lock().unwrap();
            if !made.iter().any(|a| a == account) {
                self.create_role(account, "cmk-test", "*");
                made.push(account.to_owned());
            }
        }
        let root = self.base(
            "us-east-1",
            Credentials::new("testing", "testing", None, None, "test"),
        );
        let sts = aws_sdk_sts::Client::new(&root);
        let started = Instant::now();
        let out = sts
            .assume_role()
            .role_arn(format!("arn:aws:iam::{account}:role/cmk-test"))
            .role_session_name("cmk-test")
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "AssumeRole into {account} failed after {:?}: {e:?}",
                    started.elapsed()
                )
            });
        let c = out.credentials().expect("AssumeRole returned credentials");
        Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_owned()),
            None,
            "assumed",
        )
    }

    /// Starts moto's request recorder (`/moto-api/recorder/start-recording`): from now on the
    /// emulator writes down every request it receives, whoever sends it.
    pub fn start_recording(&self) {
        let response = self.moto_api("POST", "/moto-api/recorder/start-recording");
        assert!(
            response.starts_with("HTTP/1.1 200"),
            "start-recording: {response}"
        );
    }

    /// The calls recorded since [`Emulator::start_recording`] that were signed with the access
    /// key `access_key_id`, as IAM actions (`kinesis:DescribeStreamSummary`): the service is the
    /// SigV4 signing name in the request's credential scope, the operation the `X-Amz-Target`
    /// header's suffix (JSON protocols) or the `Action` parameter (query protocols).
    pub fn recorded_actions(&self, access_key_id: &str) -> Vec<String> {
        let response = self.moto_api("GET", "/moto-api/recorder/download-recording");
        let (_, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
        let mut actions = Vec::new();
        for line in body.lines().filter(|l| l.starts_with('{')) {
            let entry: serde_json::Value = serde_json::from_str(line).expect("a recorded request");
            let header = |name: &str| {
                entry["headers"]
                    .as_object()
                    .and_then(|h| h.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
                    .and_then(|(_, v)| v.as_str())
                    .map(str::to_owned)
            };
            let Some(authorization) = header("Authorization") else {
                continue;
            };
            let Some(scope) = authorization
                .split("Credential=")
                .nth(1)
                .and_then(|c| c.split(',').next())
            else {
                continue;
            };
            // AKID/date/region/service/aws4_request
            let parts: Vec<&str> = scope.split('/').collect();
            if parts.len() != 5 || parts[0] != access_key_id {
                continue;
            }
            // S3 is REST: the IAM action follows from the method, the path and the query.
            if parts[3] == "s3" {
                let method = entry["method"].as_str().unwrap_or_default();
                let url = entry["url"].as_str().unwrap_or_default();
                actions.push(s3_action(method, url).unwrap_or_else(|| {
                    panic!("an S3 request this test cannot name the IAM action of: {method} {url}")
                }));
                continue;
            }
            let operation = header("X-Amz-Target")
                .and_then(|t| t.rsplit('.').next().map(str::to_owned))
                .or_else(|| {
                    let body = entry["body"].as_str().unwrap_or_default();
                    let body = if entry["body_encoded"].as_bool() == Some(true) {
                        String::from_utf8(
                            aws_smithy_types::base64::decode(body).unwrap_or_default(),
                        )
                        .unwrap_or_default()
                    } else {
                        body.to_owned()
                    };
                    body.split('&')
                        .find_map(|p| p.strip_prefix("Action=").map(str::to_owned))
                })
                .unwrap_or_else(|| panic!("a recorded request with no operation: {entry}"));
            actions.push(format!("{}:{operation}", parts[3]));
        }
        actions
    }

    /// Stops moto's request recorder.
    pub fn stop_recording(&self) {
        let response = self.moto_api("POST", "/moto-api/recorder/stop-recording");
        assert!(
            response.starts_with("HTTP/1.1 200"),
            "stop-recording: {response}"
        );
    }

    /// One request to moto's own API; returns the raw HTTP response.
    fn moto_api(&self, method: &str, path: &str) -> String {
        use std::io::{Read, Write};
        let host = self.endpoint.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(host).expect("emulator reachable");
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    }
}

/// The IAM action of a path-style S3 request the rule makes
/// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html):
/// `None` for one this mapping does not know.
fn s3_action(method: &str, url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path_and_query = rest.find('/').map_or("/", |i| &rest[i..]);
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let has = |name: &str| {
        query
            .split('&')
            .any(|p| p == name || p.starts_with(&format!("{name}=")))
    };
    let bucket_level = path.trim_matches('/').split('/').count() == 1 && path != "/";
    let action = match (method, path == "/", bucket_level) {
        ("GET", true, _) => "ListAllMyBuckets",
        ("GET", _, true) if has("encryption") => "GetEncryptionConfiguration",
        ("GET", _, true) if has("tagging") => "GetBucketTagging",
        _ => return None,
    };
    Some(format!("s3:{action}"))
}
