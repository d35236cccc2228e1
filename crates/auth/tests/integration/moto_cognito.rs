//! A real Cognito emulator: moto's server (PyPI `moto[server]`). The test starts
//! `moto_server` on a free loopback port, creates a user pool and an app client, signs a user
//! up and in, and verifies the ID and access tokens through `cognito` providers whose
//! `jwksUri` points at moto (tokens carry the real AWS issuer, derived from region + pool).
//! If `moto_server` is not on PATH the test prints why it skipped.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use stratus_auth::clock::{Clock, SystemClock};
use stratus_auth::jwks::{JwksCache, JwksPolicy};
use stratus_auth::provider::ProviderConfig;
use stratus_auth::{Authenticator, ProviderSelection};

struct Moto(Child);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn on_path(bin: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(bin).is_file()))
}

const REGION: &str = "us-east-1";

async fn call(client: &reqwest::Client, base: &str, op: &str, body: Value) -> Value {
    let resp = client
        .post(format!("{base}/"))
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", format!("AWSCognitoIdentityProviderService.{op}"))
        // moto routes by the credential scope; it does not check signatures.
        .header(
            "authorization",
            format!("AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/{REGION}/cognito-idp/aws4_request, SignedHeaders=host, Signature=00"),
        )
        .body(body.to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{op}: {e}"));
    let status = resp.status();
    let text = resp.text().await.expect("body");
    assert!(status.is_success(), "{op}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

#[tokio::test]
async fn cognito_tokens_from_moto_verify() {
    if !on_path("moto_server") {
        println!("SKIP moto_cognito: `moto_server` not on PATH (pip install 'moto[server]')");
        return;
    }
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let mut moto = Moto(
        Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts"),
    );
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..240 {
        if client.get(format!("{base}/moto-api/")).send().await.is_ok() {
            ready = true;
            break;
        }
        if let Ok(Some(status)) = moto.0.try_wait() {
            // e.g. a pyenv shim whose active Python lacks moto: an environment problem.
            println!(
                "SKIP moto_cognito: `moto_server` on PATH exited with {status} before serving (pip install 'moto[server]')"
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(ready, "moto_server did not come up on {base} within 60 s");

    let pool = call(
        &client,
        &base,
        "CreateUserPool",
        json!({"PoolName": "stratus-test"}),
    )
    .await;
    let pool_id = pool["UserPool"]["Id"]
        .as_str()
        .expect("pool id")
        .to_string();
    let app = call(
        &client,
        &base,
        "CreateUserPoolClient",
        json!({"UserPoolId": pool_id, "ClientName": "web",
        "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]}),
    )
    .await;
    let client_id = app["UserPoolClient"]["ClientId"]
        .as_str()
        .expect("client id")
        .to_string();
    call(
        &client,
        &base,
        "SignUp",
        json!({"ClientId": client_id, "Username": "alice", "Password": "Passw0rd!x",
        "UserAttributes": [{"Name": "email", "Value": "alice@example.com"}]}),
    )
    .await;
    call(
        &client,
        &base,
        "AdminConfirmSignUp",
        json!({"UserPoolId": pool_id, "Username": "alice"}),
    )
    .await;
    let signed_in = call(
        &client,
        &base,
        "InitiateAuth",
        json!({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": client_id,
        "AuthParameters": {"USERNAME": "alice", "PASSWORD": "Passw0rd!x"}}),
    )
    .await;
    let id_token = signed_in["AuthenticationResult"]["IdToken"]
        .as_str()
        .expect("id token")
        .to_string();
    let access_token = signed_in["AuthenticationResult"]["AccessToken"]
        .as_str()
        .expect("access token")
        .to_string();

    let jwks_uri = format!("{base}/{pool_id}/.well-known/jwks.json");
    let provider = |name: &str, token_use: &str| {
        let cfg: ProviderConfig = serde_json::from_value(json!({"name": name, "type": "cognito", "region": REGION,
            "userPoolId": pool_id, "clientIds": [client_id], "tokenUse": token_use, "jwksUri": jwks_uri}))
        .expect("config");
        cfg.build(None).expect("provider")
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let cache = Arc::new(JwksCache::new(JwksPolicy::default(), Arc::clone(&clock)).expect("cache"));
    let auth = Authenticator::new(
        vec![provider("cog-id", "id"), provider("cog-access", "access")],
        cache,
        clock,
    )
    .expect("authenticator");
    let (id_only, access_only) = (["cog-id".to_string()], ["cog-access".to_string()]);

    let v = auth
        .verify(&id_token, ProviderSelection::Named(&id_only))
        .await
        .expect("moto ID token verifies");
    let data = v.token_data();
    assert_eq!(data["cognito:username"], json!("alice"));
    assert_eq!(data["token_use"], json!("id"));
    assert_eq!(data["aud"], json!(client_id));
    assert_eq!(data["rawToken"], json!(id_token));
    let v = auth
        .verify(&access_token, ProviderSelection::Named(&access_only))
        .await
        .expect("moto access token verifies");
    assert_eq!(v.token_data()["client_id"], json!(client_id));
    assert_eq!(v.token_data()["username"], json!("alice"));
    // Each kind is refused by the provider configured for the other kind.
    assert!(
        auth.verify(&access_token, ProviderSelection::Named(&id_only))
            .await
            .is_err()
    );
    assert!(
        auth.verify(&id_token, ProviderSelection::Named(&access_only))
            .await
            .is_err()
    );
    // Tampering with the moto token's payload breaks the signature.
    let mut parts: Vec<String> = id_token.split('.').map(str::to_string).collect();
    let claims: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &parts[1])
            .expect("b64"),
    )
    .expect("claims");
    let mut forged = claims.clone();
    forged["cognito:username"] = json!("mallory");
    parts[1] = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        forged.to_string(),
    );
    let e = auth
        .verify(&parts.join("."), ProviderSelection::Any)
        .await
        .expect_err("forged");
    assert_eq!(e.reason(), "bad_signature");
}
