//! The request-log store ([`RequestLogs`]) as the admin API's [`LogSource`]: the endpoint's
//! query parameters are parsed by [`LogQuery::from_query_params`]; invalid ones answer 400
//! `validation_failed` naming each parameter, store failures 500.

use serde_json::{Value, json};
use stratus_types::Code;

use crate::control::LogSource;
use crate::http::{ApiError, FieldProblem};
use crate::logs::{LogQuery, RequestLogs};

impl LogSource for RequestLogs {
    fn query(
        &self,
        project: &str,
        env: &str,
        params: &[(String, String)],
    ) -> Result<Value, ApiError> {
        let q = LogQuery::from_query_params(params).map_err(|errors| {
            ApiError::validation(
                errors
                    .into_iter()
                    .map(|(name, msg)| FieldProblem {
                        loc: vec!["params".into(), name.into()],
                        msg,
                        kind: "value_error".into(),
                    })
                    .collect(),
            )
        })?;
        let page = RequestLogs::query(self, project, env, &q).map_err(|e| {
            if e.is_client_error() {
                ApiError::new(Code::ValidationFailed, e.to_string())
            } else {
                ApiError::internal(e)
            }
        })?;
        Ok(json!({"data": page.data,
                  "page": {"total": page.total, "limit": q.limit, "offset": q.offset}}))
    }
}
