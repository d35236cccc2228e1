//! The shop example compiles; invalid definitions produce the expected path and code, all of
//! them at once.

use serde_json::{Value, json};
use stratus_server::project::{ApiAuth, compile, compile_value, parse_definition};

use crate::common::shop;

fn errors_of(def: &Value) -> Vec<(String, &'static str)> {
    match compile_value(def) {
        Ok(_) => Vec::new(),
        Err(e) => e.into_iter().map(|e| (e.path, e.code)).collect(),
    }
}

fn api(extra: Value) -> Value {
    let mut a = json!({"name": "x", "method": "GET", "endpoint": "/x",
                       "flow": [{"type": "httpResponse", "status": 200}]});
    for (k, v) in extra.as_object().expect("object") {
        a[k] = v.clone();
    }
    a
}

#[test]
fn the_shop_example_compiles() {
    let p = compile_value(&shop()).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(p.name, "shop");
    assert_eq!(p.models.len(), 1);
    assert_eq!(p.models[0].collection, "products");
    let names: Vec<(&str, &str, &str)> = p
        .apis
        .iter()
        .map(|a| (a.name.as_str(), a.method.as_str(), a.endpoint.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("product_create", "POST", "/products"),
            ("product_get", "GET", "/products/{id}"),
            ("product_list", "GET", "/products"),
            ("product_replace", "PUT", "/products/{id}"),
            ("product_update", "PATCH", "/products/{id}"),
            ("product_delete", "DELETE", "/products/{id}"),
            ("expensive", "GET", "/products/expensive"),
        ]
    );
    assert_eq!(p.apis[1].path_params, ["id"]);
    assert_eq!(p.apis[6].auth, ApiAuth::None);
    assert_eq!(p.indexes.len(), 1);
    assert_eq!(p.indexes[0].collection, "products");
    assert_eq!(p.indexes[0].keys, bson::doc! {"name": 1});
    assert!(p.indexes[0].unique);
    // The expanded definition holds ordinary APIs (no template entry left) and compiles again
    // to the same routes.
    let apis = p.definition["apis"].as_array().expect("apis");
    assert_eq!(apis.len(), 7);
    assert!(apis.iter().all(|a| a.get("template").is_none()));
    let again = compile_value(&p.definition).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(again.apis.len(), 7);
    fn shared<T: Send + Sync>(_: &T) {}
    shared(&p);
}

#[test]
fn invalid_definitions_report_path_and_code() {
    type Edit = fn(&mut Value);
    let cases: Vec<(&str, Edit, &str, &str)> = vec![
        (
            "project name not a slug",
            |d| d["name"] = json!("Shop"),
            "$.name",
            "invalid_name",
        ),
        (
            "missing name",
            |d| {
                d.as_object_mut().expect("o").remove("name");
            },
            "$",
            "missing_field",
        ),
        (
            "unknown top-level key",
            |d| d["modelz"] = json!([]),
            "$.modelz",
            "unknown_field",
        ),
        (
            "models not an array",
            |d| d["models"] = json!({}),
            "$.models",
            "invalid_type",
        ),
        (
            "unknown field type",
            |d| d["models"][0]["fields"]["price"]["type"] = json!("float"),
            "$.models[0].fields.price.type",
            "invalid_field_type",
        ),
        (
            "field without type",
            |d| d["models"][0]["fields"]["price"] = json!({"min": 0}),
            "$.models[0].fields.price",
            "missing_field",
        ),
        (
            "bad model name",
            |d| d["models"][0]["name"] = json!("9product"),
            "$.models[0].name",
            "invalid_name",
        ),
        (
            "bad field name",
            |d| d["models"][0]["fields"]["$bad"] = json!("string"),
            "$.models[0].fields.$bad",
            "invalid_name",
        ),
        (
            "duplicate model name",
            |d| {
                let m = d["models"][0].clone();
                d["models"].as_array_mut().expect("a").push(m);
            },
            "$.models[1].name",
            "duplicate_name",
        ),
        (
            "duplicate collection",
            |d| {
                let mut m = d["models"][0].clone();
                m["name"] = json!("other");
                d["models"].as_array_mut().expect("a").push(m);
            },
            "$.models[1]",
            "duplicate_collection",
        ),
        (
            "invalid pattern",
            |d| d["models"][0]["fields"]["name"]["pattern"] = json!("("),
            "$.models[0].fields.name.pattern",
            "invalid_pattern",
        ),
        (
            "constraint of another type",
            |d| d["models"][0]["fields"]["stock"]["minLength"] = json!(1),
            "$.models[0].fields.stock.minLength",
            "invalid_constraint",
        ),
        (
            "min greater than max",
            |d| d["models"][0]["fields"]["price"]["max"] = json!(-1),
            "$.models[0].fields.price.min",
            "invalid_constraint",
        ),
        (
            "unknown member of a field",
            |d| d["models"][0]["fields"]["stock"]["nullable"] = json!(true),
            "$.models[0].fields.stock.nullable",
            "unknown_field",
        ),
        (
            "default of the wrong type",
            |d| d["models"][0]["fields"]["stock"]["default"] = json!("many"),
            "$.models[0].fields.stock.default",
            "invalid_default",
        ),
        (
            "default breaking a limit",
            |d| d["models"][0]["fields"]["price"]["default"] = json!(-5),
            "$.models[0].fields.price.default",
            "invalid_default",
        ),
        (
            "enum without values",
            |d| d["models"][0]["fields"]["size"] = json!({"type": "enum"}),
            "$.models[0].fields.size",
            "missing_field",
        ),
        (
            "enum with objects",
            |d| d["models"][0]["fields"]["size"] = json!({"type": "enum", "values": [{}]}),
            "$.models[0].fields.size.values",
            "invalid_constraint",
        ),
        (
            "array without items",
            |d| d["models"][0]["fields"]["tags"] = json!({"type": "array"}),
            "$.models[0].fields.tags",
            "missing_field",
        ),
        (
            "nested bad type",
            |d| d["models"][0]["fields"]["meta"]["fields"]["color"]["type"] = json!("colour"),
            "$.models[0].fields.meta.fields.color.type",
            "invalid_field_type",
        ),
        (
            "index on unknown field",
            |d| d["models"][0]["indexes"][0]["fields"] = json!({"nme": 1}),
            "$.models[0].indexes[0].fields.nme",
            "invalid_index",
        ),
        (
            "index direction",
            |d| d["models"][0]["indexes"][0]["fields"] = json!({"name": 2}),
            "$.models[0].indexes[0].fields.name",
            "invalid_index",
        ),
        (
            "bad method",
            |d| d["apis"][1]["method"] = json!("FETCH"),
            "$.apis[1].method",
            "invalid_method",
        ),
        (
            "endpoint without slash",
            |d| d["apis"][1]["endpoint"] = json!("products"),
            "$.apis[1].endpoint",
            "invalid_endpoint",
        ),
        (
            "endpoint with bad param",
            |d| d["apis"][1]["endpoint"] = json!("/p/{1x}"),
            "$.apis[1].endpoint",
            "invalid_endpoint",
        ),
        (
            "unknown API member",
            |d| d["apis"][1]["flw"] = json!([]),
            "$.apis[1].flw",
            "unknown_field",
        ),
        (
            "API without flow",
            |d| {
                d["apis"][1].as_object_mut().expect("o").remove("flow");
            },
            "$.apis[1]",
            "missing_field",
        ),
        (
            "object query param",
            |d| d["apis"][1]["queryParams"]["min"] = json!({"type": "object"}),
            "$.apis[1].queryParams.min.type",
            "invalid_query_param",
        ),
        (
            "query ref not declared",
            |d| {
                d["apis"][1]["flow"][0]["filter"]["price"]["$gte"] =
                    json!("$.request.queryParams.max")
            },
            "$.apis[1].flow[0].filter.price.$gte",
            "unknown_query_param",
        ),
        (
            "path ref not in endpoint",
            |d| d["apis"][1]["flow"][0]["filter"] = json!({"_id": "$.request.pathParams.id"}),
            "$.apis[1].flow[0].filter._id",
            "unknown_path_param",
        ),
        (
            "unknown node type",
            |d| d["apis"][1]["flow"][0]["type"] = json!("findAll"),
            "$.apis[1].flow[0].type",
            "invalid_flow",
        ),
        (
            "unknown node field",
            |d| d["apis"][1]["flow"][0]["limt"] = json!(1),
            "$.apis[1].flow[0].limt",
            "invalid_flow",
        ),
        (
            "empty flow",
            |d| d["apis"][1]["flow"] = json!([]),
            "$.apis[1].flow",
            "invalid_flow",
        ),
        (
            "collection not a model's",
            |d| d["apis"][1]["flow"][0]["collection"] = json!("orders"),
            "$.apis[1].flow[0].collection",
            "unknown_collection",
        ),
        (
            "body on GET",
            |d| d["apis"][1]["body"] = json!({"model": "product"}),
            "$.apis[1].body",
            "invalid_body",
        ),
        (
            "body of unknown model",
            |d| {
                d["apis"][1]["method"] = json!("POST");
                d["apis"][1]["body"] = json!({"model": "produce"});
            },
            "$.apis[1].body.model",
            "unknown_model",
        ),
        (
            "body with model and fields",
            |d| {
                d["apis"][1]["method"] = json!("POST");
                d["apis"][1]["body"] = json!({"model": "product", "fields": {}});
            },
            "$.apis[1].body",
            "invalid_body",
        ),
        (
            "partial without body",
            |d| d["apis"][1]["partial"] = json!(true),
            "$.apis[1].partial",
            "invalid_body",
        ),
        (
            "body ref not declared",
            |d| {
                d["apis"][1]["method"] = json!("POST");
                d["apis"][1]["body"] = json!({"fields": {"a": "int"}});
                d["apis"][1]["flow"][1]["body"] = json!({"b": "$.request.body.b"});
            },
            "$.apis[1].flow[1].body.b",
            "unknown_body_field",
        ),
        (
            "auth true without providers",
            |d| d["apis"][1]["auth"] = json!(true),
            "$.apis[1].auth",
            "invalid_auth",
        ),
        (
            "auth of an unknown provider",
            |d| d["apis"][1]["auth"] = json!({"providers": ["idp"]}),
            "$.apis[1].auth.providers[0]",
            "unknown_provider",
        ),
        (
            "auth of a wrong kind",
            |d| d["apis"][1]["auth"] = json!("yes"),
            "$.apis[1].auth",
            "invalid_auth",
        ),
        (
            "duplicate endpoint",
            |d| {
                let a = api(json!({"name": "cheap", "endpoint": "/products/expensive"}));
                d["apis"].as_array_mut().expect("a").push(a);
            },
            "$.apis[2].endpoint",
            "duplicate_endpoint",
        ),
        (
            "endpoints differing by parameter name",
            |d| {
                let a = api(json!({"name": "other", "endpoint": "/products/{pid}"}));
                d["apis"].as_array_mut().expect("a").push(a);
            },
            "$.apis[2].endpoint",
            "duplicate_endpoint",
        ),
        (
            "duplicate API name",
            |d| d["apis"][1]["name"] = json!("product_create"),
            "$.apis[1].name",
            "duplicate_name",
        ),
        (
            "template of an unknown model",
            |d| d["apis"][0]["model"] = json!("produce"),
            "$.apis[0].model",
            "unknown_model",
        ),
        (
            "unknown template",
            |d| d["apis"][0]["template"] = json!("search"),
            "$.apis[0].template",
            "unknown_template",
        ),
        (
            "template endpoint with {id}",
            |d| d["apis"][0]["endpoint"] = json!("/p/{id}"),
            "$.apis[0].endpoint",
            "invalid_endpoint",
        ),
        (
            "unknown provider type",
            |d| d["auth"]["providers"] = json!([{"name": "a", "type": "saml"}]),
            "$.auth.providers[0]",
            "invalid_provider",
        ),
        (
            "literal hmac secret",
            |d| d["auth"]["providers"] = json!([{"name": "a", "type": "hmac", "secret": "hunter2hunter2hunter2hunter2hunter2"}]),
            "$.auth.providers[0].secret",
            "invalid_provider",
        ),
        (
            "jwks over plain http",
            |d| d["auth"]["providers"] = json!([{"name": "a", "type": "jwks", "jwksUri": "http://idp.example.com/jwks.json"}]),
            "$.auth.providers[0]",
            "invalid_provider",
        ),
        (
            "duplicate provider",
            |d| d["auth"]["providers"] = json!([{"name": "a", "type": "hmac", "secret": "$.secrets.auth.key"}, {"name": "a", "type": "hmac", "secret": "$.secrets.auth.key"}]),
            "$.auth.providers[1].name",
            "duplicate_name",
        ),
        (
            "cors max age",
            |d| d["cors"] = json!({"maxAgeSecs": -1}),
            "$.cors.maxAgeSecs",
            "invalid_cors",
        ),
        (
            "cors origin",
            |d| d["cors"] = json!({"allowOrigins": ["example.com"]}),
            "$.cors.allowOrigins[0]",
            "invalid_cors",
        ),
        (
            "sub-flow node error",
            |d| d["subflows"] = json!([{"name": "s", "flow": [{"type": "nope"}]}]),
            "$.subflows[0].flow[0].type",
            "invalid_flow",
        ),
        (
            "sub-flow collection",
            |d| d["subflows"] = json!([{"name": "s", "flow": [{"type": "findOne", "name": "f", "collection": "nope"}, {"type": "httpResponse"}]}]),
            "$.subflows[0].flow[0].collection",
            "unknown_collection",
        ),
        (
            "sub-flow argument",
            |d| d["subflows"] = json!([{"name": "s", "arguments": [{"name": "1a"}], "flow": [{"type": "httpResponse"}]}]),
            "$.subflows[0].arguments[0].name",
            "invalid_flow",
        ),
        (
            "executeSubflow of an unknown sub-flow",
            |d| d["apis"][1]["flow"][0] = json!({"type": "executeSubflow", "name": "call", "subflow": "ghost", "arguments": {}}),
            "$.apis[1].flow[0].subflow",
            "invalid_flow",
        ),
    ];
    let mut failures = Vec::new();
    for (what, edit, path, code) in &cases {
        let mut d = shop();
        edit(&mut d);
        let got = errors_of(&d);
        if !got.iter().any(|(p, c)| p == path && c == code) {
            failures.push(format!("{what}: expected ({path}, {code}), got {got:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn every_error_is_reported_at_once() {
    let mut d = shop();
    d["name"] = json!("Bad Name");
    d["models"][0]["fields"]["price"]["type"] = json!("float");
    d["apis"][1]["method"] = json!("FETCH");
    d["apis"][1]["flow"][0]["collection"] = json!("orders");
    d["auth"]["providers"] = json!([{"name": "a", "type": "nope"}]);
    d["extra"] = json!(1);
    let got = errors_of(&d);
    for want in [
        ("$.name", "invalid_name"),
        ("$.models[0].fields.price.type", "invalid_field_type"),
        ("$.apis[1].method", "invalid_method"),
        ("$.apis[1].flow[0].collection", "unknown_collection"),
        ("$.auth.providers[0]", "invalid_provider"),
        ("$.extra", "unknown_field"),
    ] {
        assert!(
            got.iter().any(|(p, c)| p == want.0 && *c == want.1),
            "missing {want:?} in {got:?}"
        );
    }
}

#[test]
fn literal_segments_and_parameters_coexist() {
    let mut d = shop();
    for (n, m, e) in [
        ("a", "GET", "/products/{id}/related"),
        ("b", "POST", "/products/{id}"),
        ("c", "GET", "/"),
        ("d", "GET", "/products/top/{n}"),
    ] {
        d["apis"]
            .as_array_mut()
            .expect("a")
            .push(api(json!({"name": n, "method": m, "endpoint": e})));
    }
    let p = compile_value(&d).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(p.apis.len(), 11);
}

#[test]
fn errors_in_generated_apis_point_at_the_template() {
    let mut d = shop();
    // A user API taking the generated POST /products route.
    d["apis"].as_array_mut().expect("a").insert(
        0,
        api(json!({"name": "mine", "method": "POST", "endpoint": "/products"})),
    );
    let got = compile_value(&d).expect_err("conflict");
    let e = got
        .iter()
        .find(|e| e.code == "duplicate_endpoint")
        .expect("duplicate");
    assert_eq!(e.path, "$.apis[1]");
    assert!(e.message.contains("POST /products"), "{}", e.message);
}

#[test]
fn compile_errors_name_the_file() {
    let text = r#"{"name": "x", "apis": [{"name": "a", "method": "GET", "endpoint": "/a", "flow": [{"type": "nope"}]}]}"#;
    let loaded = parse_definition(text, "project.json").expect("parses");
    let errs = compile(&loaded).expect_err("invalid");
    assert_eq!(errs[0].file.as_deref(), Some("project.json"));
    assert_eq!(
        errs[0].to_string(),
        format!("project.json: $.apis[0].flow[0].type: {}", errs[0].message)
    );
    let v = serde_json::to_value(&errs[0]).expect("json");
    assert_eq!(v["code"], "invalid_flow");
    assert_eq!(v["path"], "$.apis[0].flow[0].type");
}

#[test]
fn providers_cors_and_api_auth_compile() {
    let mut d = shop();
    d["auth"]["providers"] = json!([
        {"name": "shared", "type": "hmac", "secret": "$.secrets.auth.key", "algorithms": ["HS256"]},
        {"name": "idp", "type": "jwks", "jwksUri": "https://idp.example.com/jwks.json", "issuer": "https://idp.example.com", "audience": ["my-api"]},
        {"name": "cognito", "type": "cognito", "region": "eu-west-1", "userPoolId": "eu-west-1_abc", "clientIds": ["c1"], "tokenUse": "id"}
    ]);
    d["apis"][1]["auth"] = json!({"providers": ["idp"]});
    d["apis"][0]["auth"] = json!(true);
    d["cors"] = json!({"allowOrigins": ["https://app.example.com"], "allowMethods": ["get", "POST"], "allowHeaders": ["Content-Type"], "maxAgeSecs": 600});
    let p = compile_value(&d).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(p.auth_providers.len(), 3);
    assert_eq!(
        p.api("expensive").expect("api").auth,
        ApiAuth::Providers(vec!["idp".into()])
    );
    assert!(p.apis[..6].iter().all(|a| a.auth == ApiAuth::AnyProvider));
    let cors = p.cors.expect("cors");
    assert_eq!(cors.allow_methods, ["GET", "POST"]);
    assert_eq!(cors.allow_headers, ["content-type"]);
    assert_eq!(cors.max_age_secs, Some(600));
}

#[test]
fn limits_can_be_lowered() {
    use stratus_server::project::{DefinitionLimits, compile_value_with, parse_definition_with};
    let d = shop();
    let cases: Vec<(DefinitionLimits, &str, &str)> = vec![
        (
            DefinitionLimits {
                max_models: 0,
                ..Default::default()
            },
            "$.models",
            "too_many",
        ),
        (
            DefinitionLimits {
                max_apis: 6,
                ..Default::default()
            },
            "$.apis",
            "too_many",
        ),
        (
            DefinitionLimits {
                max_schema_depth: 0,
                ..Default::default()
            },
            "$.models[0].fields.tags.items",
            "too_deep",
        ),
        (
            DefinitionLimits {
                max_fields_per_object: 5,
                ..Default::default()
            },
            "$.models[0].fields",
            "too_many",
        ),
    ];
    for (limits, path, code) in cases {
        let got = compile_value_with(&d, &limits).expect_err(code);
        assert!(
            got.iter().any(|e| e.path == path && e.code == code),
            "{limits:?}: {got:?}"
        );
    }
    assert!(compile_value_with(&d, &DefinitionLimits::default()).is_ok());
    let small = DefinitionLimits {
        max_file_bytes: 10,
        ..Default::default()
    };
    let e = parse_definition_with(&d.to_string(), "project.json", &small).expect_err("too large");
    assert_eq!(e[0].code, "file_too_large");
}
