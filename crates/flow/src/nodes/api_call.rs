//! `apiCall`: an outbound HTTP request.
//!
//! Fields: `url` (required; http or https), `method` (default `GET`; GET, POST, PUT, PATCH,
//! DELETE, HEAD, OPTIONS), `headers` (object of strings), `queryParams` (object; values are
//! converted to text and appended to the URL), `body` (a string is sent as `text/plain`,
//! anything else as JSON; not sent with GET/HEAD), `timeoutMs` (default
//! [`crate::http::DEFAULT_TIMEOUT_MS`], at most [`crate::http::MAX_TIMEOUT_MS`]).
//!
//! Outputs: `statusCode` (integer), `body` (parsed JSON when the response says JSON and parses,
//! otherwise text; `null` when empty), `headers` (object, lower-case names). A non-2xx status
//! does not fail the node. Refused destinations fail with `outbound_address_refused`;
//! connection errors, timeouts, too many redirects and too large responses with
//! `upstream_failed` (502).

use std::time::Duration;

use bson::{Bson, DateTime, Document};

use super::Op;
use super::json::type_error;
use super::strings::display;
use crate::compile::{Compiler, Fields};
use crate::context::Frame;
use crate::error::{Result, RunError, RunErrorCode};
use crate::http::{HttpClient, is_restricted, literal_ip, refused_in};
use crate::output::to_json;
use crate::value::Tmpl;

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/// `apiCall`
#[derive(Debug)]
pub(crate) struct ApiCall {
    url: Tmpl,
    method: Option<Tmpl>,
    headers: Option<Tmpl>,
    query: Option<Tmpl>,
    body: Option<Tmpl>,
    timeout: Option<Tmpl>,
}

pub(crate) fn compile(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    let url = c.req_value(f, "url");
    if let Some(b) = url.literal() {
        match b {
            Bson::String(s)
                if reqwest::Url::parse(s).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) => {
            }
            _ => c.error(&f.at("url"), "must be an absolute http(s) URL"),
        }
    }
    let method = c.opt_value(f, "method");
    if let Some(b) = method.as_ref().and_then(Tmpl::literal)
        && !matches!(b, Bson::String(s) if METHODS.contains(&s.to_ascii_uppercase().as_str()))
    {
        c.error(
            &f.at("method"),
            format!("must be one of {}", METHODS.join(", ")),
        );
    }
    let headers = c.opt_value(f, "headers");
    if let Some(b) = headers.as_ref().and_then(Tmpl::literal)
        && !matches!(b, Bson::Document(_))
    {
        c.error(&f.at("headers"), "must be an object");
    }
    let query = c.opt_value(f, "queryParams");
    let body = c.opt_value(f, "body");
    let timeout = c.opt_value(f, "timeoutMs");
    if let Some(b) = timeout.as_ref().and_then(Tmpl::literal) {
        let ok = matches!(stratus_query::compare::Number::of(b), Some(n) if n.as_f64() >= 1.0 && n.as_f64() <= crate::http::MAX_TIMEOUT_MS as f64);
        if !ok {
            c.error(
                &f.at("timeoutMs"),
                format!("must be a number from 1 to {}", crate::http::MAX_TIMEOUT_MS),
            );
        }
    }
    Op::ApiCall(ApiCall {
        url,
        method,
        headers,
        query,
        body,
        timeout,
    })
}

/// A request with every input evaluated.
#[derive(Debug)]
pub(crate) struct Prepared {
    url: reqwest::Url,
    method: reqwest::Method,
    headers: Vec<(String, String)>,
    body: Option<Bson>,
    timeout_ms: Option<u64>,
}

impl ApiCall {
    /// Evaluates the inputs.
    pub(crate) fn prepare(&self, f: &Frame, now: DateTime) -> Result<Prepared> {
        let url = match self.url.eval(f, now)? {
            Bson::String(s) => s,
            other => return Err(type_error("url", "a string", &other)),
        };
        let mut url = reqwest::Url::parse(&url)
            .map_err(|e| RunError::node_failed(format!("invalid url: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(RunError::node_failed("url must use http or https"));
        }
        let method = match &self.method {
            Some(t) => match t.eval(f, now)? {
                Bson::String(s) if METHODS.contains(&s.to_ascii_uppercase().as_str()) => {
                    reqwest::Method::from_bytes(s.to_ascii_uppercase().as_bytes())
                        .map_err(|e| RunError::node_failed(format!("invalid method: {e}")))?
                }
                other => return Err(type_error("method", "an HTTP method name", &other)),
            },
            None => reqwest::Method::GET,
        };
        let mut headers = Vec::new();
        if let Some(t) = &self.headers {
            match t.eval(f, now)? {
                Bson::Document(d) => {
                    for (k, v) in d {
                        if !matches!(v, Bson::Null) {
                            headers.push((k, display(&v)));
                        }
                    }
                }
                Bson::Null => {}
                other => return Err(type_error("headers", "an object", &other)),
            }
        }
        if let Some(t) = &self.query {
            match t.eval(f, now)? {
                Bson::Document(d) => {
                    let mut pairs = url.query_pairs_mut();
                    for (k, v) in d {
                        if !matches!(v, Bson::Null) {
                            pairs.append_pair(&k, &display(&v));
                        }
                    }
                }
                Bson::Null => {}
                other => return Err(type_error("queryParams", "an object", &other)),
            }
        }
        let body = match &self.body {
            Some(t) if method != reqwest::Method::GET && method != reqwest::Method::HEAD => {
                Some(t.eval(f, now)?)
            }
            _ => None,
        };
        let timeout_ms = match &self.timeout {
            Some(t) => {
                let v = t.eval(f, now)?;
                match stratus_query::compare::Number::of(&v) {
                    Some(n) if n.as_f64() >= 1.0 => Some(n.as_f64() as u64),
                    _ => return Err(type_error("timeoutMs", "a positive number", &v)),
                }
            }
            None => None,
        };
        Ok(Prepared {
            url,
            method,
            headers,
            body,
            timeout_ms,
        })
    }
}

fn upstream(msg: impl Into<String>) -> RunError {
    RunError::new(RunErrorCode::UpstreamFailed, msg)
}

fn refused(ip: std::net::IpAddr) -> RunError {
    RunError::new(
        RunErrorCode::OutboundAddressRefused,
        format!("outbound address {ip} is not allowed (private, loopback, link-local or reserved)"),
    )
}

/// Sends a prepared request; returns the node's output document.
pub(crate) async fn send(p: Prepared, http: &HttpClient) -> Result<Document> {
    let cfg = http.config;
    if !cfg.allow_private_networks
        && let Some(ip) = literal_ip(&p.url)
        && is_restricted(ip)
    {
        return Err(refused(ip));
    }
    let timeout = p
        .timeout_ms
        .unwrap_or(cfg.default_timeout_ms)
        .min(cfg.max_timeout_ms);
    let mut req = http
        .client
        .request(p.method, p.url.clone())
        .timeout(Duration::from_millis(timeout));
    let has_ct = p
        .headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
    for (k, v) in &p.headers {
        req = req.header(k.as_str(), v.as_str());
    }
    match p.body {
        None | Some(Bson::Null) => {}
        Some(Bson::String(s)) => {
            if !has_ct {
                req = req.header("content-type", "text/plain; charset=utf-8");
            }
            req = req.body(s);
        }
        Some(other) => {
            if !has_ct {
                req = req.header("content-type", "application/json");
            }
            req = req.body(to_json(other).to_string());
        }
    }
    let mut resp = req.send().await.map_err(|e| classify(&e, timeout))?;
    let status = resp.status().as_u16();
    let mut headers = Document::new();
    let mut is_json = false;
    for (k, v) in resp.headers() {
        let val = String::from_utf8_lossy(v.as_bytes()).into_owned();
        if k.as_str() == "content-type" && val.to_ascii_lowercase().contains("json") {
            is_json = true;
        }
        match headers.get_mut(k.as_str()) {
            Some(Bson::String(prev)) => {
                prev.push_str(", ");
                prev.push_str(&val);
            }
            _ => {
                headers.insert(k.as_str(), val);
            }
        }
    }
    let mut buf: Vec<u8> = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| classify(&e, timeout))? {
        if buf.len() + chunk.len() > cfg.max_response_bytes {
            return Err(upstream(format!(
                "response body larger than {} bytes",
                cfg.max_response_bytes
            )));
        }
        buf.extend_from_slice(&chunk);
    }
    let body = if buf.is_empty() {
        Bson::Null
    } else if is_json {
        match serde_json::from_slice::<serde_json::Value>(&buf) {
            Ok(v) => crate::output::from_json(&v),
            Err(_) => Bson::String(String::from_utf8_lossy(&buf).into_owned()),
        }
    } else {
        Bson::String(String::from_utf8_lossy(&buf).into_owned())
    };
    let mut out = Document::new();
    out.insert("statusCode", i32::from(status));
    out.insert("body", body);
    out.insert("headers", headers);
    Ok(out)
}

fn classify(e: &reqwest::Error, timeout_ms: u64) -> RunError {
    if let Some(ip) = refused_in(e) {
        return refused(ip);
    }
    if e.is_timeout() {
        return upstream(format!("the call timed out after {timeout_ms} ms"));
    }
    if e.is_redirect() {
        return upstream(format!("redirect refused: {e}"));
    }
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    upstream(format!("the call failed: {msg}"))
}
