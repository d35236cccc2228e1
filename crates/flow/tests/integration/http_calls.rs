//! `apiCall` against a real HTTP server on 127.0.0.1 (a minimal tokio server written here).

use serde_json::json;
use stratus_flow::http::HttpConfig;
use stratus_flow::{RunInput, Services};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Serves requests: `/json` echoes method, path and body as JSON; `/text` answers text;
/// `/redirect` redirects to `/json`; `/slow` waits 2 s; `/big` sends 100 KB.
async fn server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let mut n = 0;
                loop {
                    let Ok(k) = sock.read(&mut buf[n..]).await else {
                        return;
                    };
                    if k == 0 {
                        return;
                    }
                    n += k;
                    let text = String::from_utf8_lossy(&buf[..n]).to_string();
                    if let Some(h) = text.find("\r\n\r\n") {
                        let len = text
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length: ")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if n >= h + 4 + len {
                            break;
                        }
                    }
                }
                let text = String::from_utf8_lossy(&buf[..n]).to_string();
                let first = text.lines().next().unwrap_or("").to_string();
                let mut parts = first.split(' ');
                let method = parts.next().unwrap_or("").to_string();
                let path = parts.next().unwrap_or("").to_string();
                let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
                let auth = text
                    .lines()
                    .find_map(|l| l.strip_prefix("x-token: "))
                    .unwrap_or("")
                    .to_string();
                let (status, ctype, payload, extra) = if path.starts_with("/json") {
                    (
                        "200 OK",
                        "application/json",
                        json!({"method": method, "path": path, "body": body, "token": auth})
                            .to_string(),
                        String::new(),
                    )
                } else if path.starts_with("/text") {
                    (
                        "404 Not Found",
                        "text/plain",
                        "nothing here".to_string(),
                        String::new(),
                    )
                } else if path.starts_with("/redirect") {
                    (
                        "302 Found",
                        "text/plain",
                        String::new(),
                        "location: /json?from=redirect\r\n".to_string(),
                    )
                } else if path.starts_with("/loop") {
                    (
                        "302 Found",
                        "text/plain",
                        String::new(),
                        "location: /loop\r\n".to_string(),
                    )
                } else if path.starts_with("/slow") {
                    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                    ("200 OK", "text/plain", "late".to_string(), String::new())
                } else {
                    ("200 OK", "text/plain", "x".repeat(100_000), String::new())
                };
                let resp = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\nconnection: close\r\n{extra}\r\n{payload}",
                    payload.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    format!("http://{addr}")
}

fn loopback_services() -> Services {
    Services::new()
        .expect("services")
        .with_http(HttpConfig {
            allow_private_networks: true,
            max_response_bytes: 50_000,
            ..HttpConfig::default()
        })
        .expect("http")
}

async fn call(
    services: &Services,
    node: serde_json::Value,
) -> Result<serde_json::Value, stratus_flow::RunError> {
    let mut node = node;
    node["name"] = json!("call");
    node["type"] = json!("apiCall");
    let flow = json!([node, {"type": "httpResponse", "body": {"status": "$.call.statusCode", "body": "$.call.body", "ct": "$.call.headers.content-type"}}]);
    let f = stratus_flow::compile(&flow, &stratus_flow::spec::NoSubflows).expect("compiles");
    let input = RunInput {
        secrets: bson::doc! {"api": {"token": "tok-123-secret"}},
        ..Default::default()
    };
    stratus_flow::run(&f, input, services)
        .await
        .result
        .map(|r| r.json_body())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_call_json_text_redirect_and_limits() {
    let base = server().await;
    let s = loopback_services();
    let r = call(&s, json!({"url": format!("{base}/json"), "method": "POST", "body": {"a": 1}, "queryParams": {"q": "x y"}, "headers": {"x-token": "$.secrets.api.token"}})).await.expect("ok");
    assert_eq!(r["status"], 200);
    assert_eq!(r["body"]["method"], "POST");
    assert_eq!(r["body"]["path"], "/json?q=x+y");
    assert_eq!(r["body"]["body"], "{\"a\":1}");
    assert_eq!(r["body"]["token"], "tok-123-secret");
    assert_eq!(r["ct"], "application/json");
    let r = call(&s, json!({"url": format!("{base}/text")}))
        .await
        .expect("ok");
    assert_eq!(r["status"], 404, "non-2xx does not fail the node");
    assert_eq!(r["body"], "nothing here");
    let r = call(&s, json!({"url": format!("{base}/redirect")}))
        .await
        .expect("ok");
    assert_eq!(r["body"]["path"], "/json?from=redirect");
    let e = call(&s, json!({"url": format!("{base}/loop")}))
        .await
        .expect_err("too many redirects");
    assert_eq!(e.code.name(), "upstream_failed");
    let e = call(&s, json!({"url": format!("{base}/slow"), "timeoutMs": 200}))
        .await
        .expect_err("timeout");
    assert_eq!(e.code.name(), "upstream_failed");
    assert!(e.message.contains("timed out"), "{}", e.message);
    let e = call(&s, json!({"url": format!("{base}/big")}))
        .await
        .expect_err("too large");
    assert!(e.message.contains("larger than"), "{}", e.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_policy_refuses_private_addresses() {
    let base = server().await;
    let s = Services::new().expect("services");
    for url in [
        format!("{base}/json"),
        "http://10.0.0.1/".to_string(),
        "http://[::1]/".to_string(),
        "http://169.254.169.254/latest".to_string(),
        "http://localhost:1/".to_string(),
    ] {
        let e = call(&s, json!({"url": url})).await.expect_err("refused");
        assert_eq!(e.code.name(), "outbound_address_refused", "{url}: {e:?}");
    }
    // A redirect from an allowed server to a private literal address is refused too.
    let s2 = loopback_services();
    let r = call(&s2, json!({"url": format!("{base}/json")}))
        .await
        .expect("loopback allowed when configured");
    assert_eq!(r["status"], 200);
}
