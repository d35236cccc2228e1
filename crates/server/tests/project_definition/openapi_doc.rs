//! The OpenAPI document of the shop example.

use serde_json::json;
use stratus_server::project::{compile_value, openapi};

use crate::common::shop;

#[test]
fn openapi_has_paths_params_schemas_and_security() {
    let mut d = shop();
    d["auth"]["providers"] =
        json!([{"name": "shared", "type": "hmac", "secret": "$.secrets.auth.key"}]);
    d["apis"][1]["auth"] = json!(true);
    let p = compile_value(&d).unwrap_or_else(|e| panic!("{e:?}"));
    let doc = openapi(&p, "/shop/development/api/");
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().expect("paths");
    let mut keys: Vec<&str> = paths.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "/shop/development/api/products",
            "/shop/development/api/products/expensive",
            "/shop/development/api/products/{id}"
        ]
    );
    let item = &paths["/shop/development/api/products/{id}"];
    for m in ["get", "put", "patch", "delete"] {
        assert_eq!(
            item[m]["parameters"][0],
            json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}),
            "{m}"
        );
    }
    assert_eq!(
        item["put"]["requestBody"]["content"]["application/json"]["schema"],
        json!({"$ref": "#/components/schemas/product"})
    );
    let patch_schema = &item["patch"]["requestBody"]["content"]["application/json"]["schema"];
    assert!(patch_schema.get("required").is_none(), "{patch_schema}");
    assert_eq!(patch_schema["additionalProperties"], false);
    let list = &paths["/shop/development/api/products"]["get"];
    let limit = list["parameters"]
        .as_array()
        .expect("params")
        .iter()
        .find(|p| p["name"] == "limit")
        .expect("limit");
    assert_eq!(limit["in"], "query");
    assert_eq!(
        limit["schema"],
        json!({"type": "integer", "minimum": 1, "maximum": 100, "default": 20})
    );
    let exp = &paths["/shop/development/api/products/expensive"]["get"];
    assert_eq!(exp["operationId"], "expensive");
    assert_eq!(
        exp["parameters"][0],
        json!({"name": "min", "in": "query", "required": true, "schema": {"type": "number"}})
    );
    assert_eq!(exp["security"], json!([{"bearerAuth": []}]));
    assert!(
        paths["/shop/development/api/products"]["post"]
            .get("security")
            .is_none()
    );
    let product = &doc["components"]["schemas"]["product"];
    assert_eq!(product["required"], json!(["name"]));
    assert_eq!(
        product["properties"]["name"],
        json!({"type": "string", "maxLength": 200})
    );
    assert_eq!(
        product["properties"]["added"],
        json!({"type": "string", "format": "date-time"})
    );
    assert_eq!(
        product["properties"]["tags"],
        json!({"type": "array", "items": {"type": "string"}})
    );
    assert_eq!(
        product["properties"]["meta"]["properties"]["color"],
        json!({"type": "string"})
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["bearerAuth"]["scheme"],
        "bearer"
    );
}
