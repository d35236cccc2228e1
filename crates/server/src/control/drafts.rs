//! The working definition (draft) of each project — its models, APIs and sub-flows edited one
//! by one — and releases, immutable numbered snapshots of a definition.
//!
//! Invariants: a definition is kept as JSON text (lossless, any key); release numbers of a
//! project are 1, 2, 3, … in creation order and a release is never changed after creation;
//! draft edits are serialised by one lock so concurrent edits cannot lose each other.

use std::sync::PoisonError;

use bson::doc;
use serde::Serialize;
use serde_json::{Map, Value, json};
use stratus_auth::roles::{Authorized, Deploy, EditResources, ViewProject};

use super::db::{DRAFTS, RELEASES, SYSTEM_DB, find_all, find_one, int, iso_time, text};
use super::{ControlError, ControlPlane, ProjectInfo};

/// Which list of the definition an item belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DraftKind {
    /// `models`.
    Models,
    /// `apis`.
    Apis,
    /// `subflows`.
    Subflows,
}

impl DraftKind {
    /// The definition field (and URL segment).
    pub fn field(self) -> &'static str {
        match self {
            DraftKind::Models => "models",
            DraftKind::Apis => "apis",
            DraftKind::Subflows => "subflows",
        }
    }

    fn singular(self) -> &'static str {
        match self {
            DraftKind::Models => "model",
            DraftKind::Apis => "API",
            DraftKind::Subflows => "sub-flow",
        }
    }
}

/// A release (its definition is fetched separately).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseInfo {
    /// Release number (1, 2, …).
    pub number: i64,
    /// Creation time (ISO-8601 UTC).
    pub created_at: String,
    /// Who created it.
    pub created_by: String,
    /// The definition (only when one release is read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub definition: Option<Value>,
}

/// The key an item is addressed by: its `name`; an API without a name is addressed as
/// `crud_<model>` (CRUD template) or `<method>_<endpoint>` with `/`, `{`, `}` turned into `_`.
pub fn item_key(kind: DraftKind, item: &Value) -> Option<String> {
    if let Some(name) = item.get("name").and_then(Value::as_str) {
        return Some(name.to_string());
    }
    if kind != DraftKind::Apis {
        return None;
    }
    if item.get("template").and_then(Value::as_str) == Some("crud") {
        return item
            .get("model")
            .and_then(Value::as_str)
            .map(|m| format!("crud_{m}"));
    }
    let method = item.get("method").and_then(Value::as_str).unwrap_or("GET");
    let endpoint = item.get("endpoint").and_then(Value::as_str)?;
    let tail: String = endpoint
        .trim_matches('/')
        .chars()
        .map(|c| if matches!(c, '/' | '{' | '}') { '_' } else { c })
        .collect();
    Some(format!("{}_{tail}", method.to_lowercase()))
}

/// An empty definition for project `slug`.
pub(crate) fn empty_definition(slug: &str) -> Value {
    json!({"name": slug, "models": [], "apis": [], "subflows": [], "auth": {"providers": []}})
}

fn parse_definition(text: &str) -> Result<Value, ControlError> {
    serde_json::from_str(text)
        .map_err(|e| ControlError::internal(format!("stored definition: {e}")))
}

/// Checks a whole definition's outer shape and names it after the project.
pub(crate) fn check_definition(
    project: &ProjectInfo,
    def: &mut Value,
    max_bytes: usize,
) -> Result<(), ControlError> {
    let obj = def.as_object_mut().ok_or_else(|| {
        ControlError::Invalid(vec![crate::http::FieldProblem {
            loc: vec!["body".into()],
            msg: "a project definition must be a JSON object".into(),
            kind: "type_error".into(),
        }])
    })?;
    match obj.get("name") {
        None => {
            obj.insert("name".into(), Value::String(project.slug.clone()));
        }
        Some(Value::String(n)) if *n == project.slug => {}
        Some(_) => {
            return Err(ControlError::field(
                "name",
                format!(
                    "the definition must be named after the project ('{}')",
                    project.slug
                ),
                "value_error",
            ));
        }
    }
    let size = serde_json::to_vec(obj)
        .map(|v| v.len())
        .unwrap_or(usize::MAX);
    if size > max_bytes {
        return Err(ControlError::field(
            "definition",
            format!("a definition is at most {max_bytes} bytes"),
            "value_error",
        ));
    }
    Ok(())
}

impl ControlPlane {
    fn load_draft(&self, project: &ProjectInfo) -> Result<Value, ControlError> {
        match find_one(&self.store, DRAFTS, doc! {"_id": &project.id})? {
            Some(d) => parse_definition(&text(&d, "definition")),
            None => Ok(empty_definition(&project.slug)),
        }
    }

    pub(crate) fn save_draft(
        &self,
        project: &ProjectInfo,
        def: &Value,
    ) -> Result<(), ControlError> {
        let text = serde_json::to_string(def).map_err(ControlError::internal)?;
        let max_bytes = self.limits.max_definition_bytes;
        if text.len() > max_bytes {
            return Err(ControlError::field(
                "definition",
                format!("a definition is at most {max_bytes} bytes"),
                "value_error",
            ));
        }
        self.store.replace_one(
            SYSTEM_DB,
            DRAFTS,
            doc! {"_id": &project.id},
            doc! {"_id": &project.id, "definition": text, "updatedAt": self.now_secs()},
            true,
        )?;
        Ok(())
    }

    /// The project's whole working definition.
    pub fn draft(&self, auth: &Authorized<ViewProject>) -> Result<Value, ControlError> {
        let project = self.authorized_project(auth.project())?;
        self.load_draft(&project)
    }

    /// The items of one list of the draft.
    pub fn list_items(
        &self,
        auth: &Authorized<ViewProject>,
        kind: DraftKind,
    ) -> Result<Vec<Value>, ControlError> {
        let project = self.authorized_project(auth.project())?;
        let def = self.load_draft(&project)?;
        Ok(def
            .get(kind.field())
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default())
    }

    /// One item of the draft by key ([`item_key`]).
    pub fn get_item(
        &self,
        auth: &Authorized<ViewProject>,
        kind: DraftKind,
        key: &str,
    ) -> Result<Value, ControlError> {
        let project = self.authorized_project(auth.project())?;
        let def = self.load_draft(&project)?;
        def.get(kind.field())
            .and_then(Value::as_array)
            .and_then(|items| {
                items
                    .iter()
                    .find(|i| item_key(kind, i).as_deref() == Some(key))
                    .cloned()
            })
            .ok_or_else(|| ControlError::not_found(format!("no {} '{key}'", kind.singular())))
    }

    /// Adds (`key = None`: create, `already_exists` on a clash) or replaces/creates (`key =
    /// Some`: PUT, the item takes that name) an item of the draft.
    pub fn put_item(
        &self,
        auth: &Authorized<EditResources>,
        kind: DraftKind,
        key: Option<&str>,
        mut item: Value,
    ) -> Result<(Value, bool), ControlError> {
        let project = self.authorized_project(auth.project())?;
        let obj = item.as_object_mut().ok_or_else(|| {
            ControlError::Invalid(vec![crate::http::FieldProblem {
                loc: vec!["body".into()],
                msg: format!("a {} must be a JSON object", kind.singular()),
                kind: "type_error".into(),
            }])
        })?;
        if let Some(key) = key {
            match obj.get("name") {
                Some(Value::String(n)) if n != key => {
                    return Err(ControlError::field(
                        "name",
                        format!("the name must be '{key}' (the path) or absent"),
                        "value_error",
                    ));
                }
                Some(_) => {}
                None => {
                    let derived = item_key(kind, &Value::Object(obj.clone()));
                    if derived.as_deref() != Some(key) {
                        obj.insert("name".into(), Value::String(key.to_string()));
                    }
                }
            }
        }
        let new_key = item_key(kind, &item)
            .filter(|k| !k.is_empty())
            .ok_or_else(|| ControlError::field("name", "a name is required", "missing"))?;
        let _guard = self
            .draft_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut def = self.load_draft(&project)?;
        let list = list_mut(&mut def, kind)?;
        let pos = list
            .iter()
            .position(|i| item_key(kind, i).as_deref() == Some(new_key.as_str()));
        let created = match (key, pos) {
            (None, Some(_)) => {
                return Err(ControlError::AlreadyExists(format!(
                    "a {} named '{new_key}' already exists",
                    kind.singular()
                )));
            }
            (_, Some(p)) => {
                list[p] = item.clone();
                false
            }
            (_, None) => {
                list.push(item.clone());
                true
            }
        };
        self.save_draft(&project, &def)?;
        Ok((item, created))
    }

    /// Deletes an item of the draft by key.
    pub fn delete_item(
        &self,
        auth: &Authorized<EditResources>,
        kind: DraftKind,
        key: &str,
    ) -> Result<(), ControlError> {
        let project = self.authorized_project(auth.project())?;
        let _guard = self
            .draft_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut def = self.load_draft(&project)?;
        let list = list_mut(&mut def, kind)?;
        let before = list.len();
        list.retain(|i| item_key(kind, i).as_deref() != Some(key));
        if list.len() == before {
            return Err(ControlError::not_found(format!(
                "no {} '{key}'",
                kind.singular()
            )));
        }
        self.save_draft(&project, &def)
    }

    /// Snapshots the draft as the next release.
    pub fn create_release(&self, auth: &Authorized<Deploy>) -> Result<ReleaseInfo, ControlError> {
        let project = self.authorized_project(auth.project())?;
        let def = {
            let _guard = self
                .draft_lock
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            self.load_draft(&project)?
        };
        self.insert_release(&project, &def, &self.actor_name(auth.subject()))
    }

    pub(crate) fn insert_release(
        &self,
        project: &ProjectInfo,
        def: &Value,
        by: &str,
    ) -> Result<ReleaseInfo, ControlError> {
        let number = self.next_release_number(&project.id)?;
        let now = self.now_secs();
        let text = serde_json::to_string(def).map_err(ControlError::internal)?;
        self.store.insert_one(
            SYSTEM_DB,
            RELEASES,
            doc! {"_id": format!("{}:{number}", project.id), "project": &project.id,
            "number": number, "definition": text, "createdAt": now, "createdBy": by},
        )?;
        Ok(ReleaseInfo {
            number,
            created_at: iso_time(now),
            created_by: by.to_string(),
            definition: None,
        })
    }

    /// The project's releases, newest first (without definitions).
    pub fn list_releases(
        &self,
        auth: &Authorized<ViewProject>,
    ) -> Result<Vec<ReleaseInfo>, ControlError> {
        let project = self.authorized_project(auth.project())?;
        Ok(find_all(
            &self.store,
            RELEASES,
            doc! {"project": &project.id},
            doc! {"number": -1},
        )?
        .iter()
        .map(|d| ReleaseInfo {
            number: int(d, "number"),
            created_at: iso_time(int(d, "createdAt")),
            created_by: text(d, "createdBy"),
            definition: None,
        })
        .collect())
    }

    /// Release `number` with its definition.
    pub fn get_release(
        &self,
        auth: &Authorized<ViewProject>,
        number: i64,
    ) -> Result<ReleaseInfo, ControlError> {
        let project = self.authorized_project(auth.project())?;
        self.release_of(&project.id, number)?
            .ok_or_else(|| ControlError::not_found(format!("no release {number}")))
    }

    pub(crate) fn release_of(
        &self,
        project: &str,
        number: i64,
    ) -> Result<Option<ReleaseInfo>, ControlError> {
        let Some(d) = find_one(
            &self.store,
            RELEASES,
            doc! {"project": project, "number": number},
        )?
        else {
            return Ok(None);
        };
        Ok(Some(ReleaseInfo {
            number,
            created_at: iso_time(int(&d, "createdAt")),
            created_by: text(&d, "createdBy"),
            definition: Some(parse_definition(&text(&d, "definition"))?),
        }))
    }
}

fn list_mut(def: &mut Value, kind: DraftKind) -> Result<&mut Vec<Value>, ControlError> {
    let obj: &mut Map<String, Value> = def
        .as_object_mut()
        .ok_or_else(|| ControlError::internal("stored draft is not an object"))?;
    let entry = obj
        .entry(kind.field())
        .or_insert_with(|| Value::Array(Vec::new()));
    if !entry.is_array() {
        *entry = Value::Array(Vec::new());
    }
    entry
        .as_array_mut()
        .ok_or_else(|| ControlError::internal("draft list is not an array"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_keys() {
        let cases = [
            (
                DraftKind::Models,
                json!({"name": "product"}),
                Some("product"),
            ),
            (DraftKind::Models, json!({"collection": "x"}), None),
            (
                DraftKind::Apis,
                json!({"template": "crud", "model": "product", "endpoint": "/p"}),
                Some("crud_product"),
            ),
            (
                DraftKind::Apis,
                json!({"method": "POST", "endpoint": "/a/{id}/b"}),
                Some("post_a__id__b"),
            ),
            (
                DraftKind::Apis,
                json!({"name": "n", "endpoint": "/a"}),
                Some("n"),
            ),
            (DraftKind::Subflows, json!({"name": "s"}), Some("s")),
        ];
        for (kind, item, want) in cases {
            assert_eq!(item_key(kind, &item).as_deref(), want, "{item}");
        }
    }
}
