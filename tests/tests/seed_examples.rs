//! The two payload examples of seed 001 validate against the declared envelope, and
//! `workflow.run.status.changed` fans out to the run, workflow and account streams.

use serde_json::{json, Value};

fn envelope_validator(channel: &str, event: &str) -> jsonschema::Validator {
    let ev = cableway::channels::find(channel).and_then(|c| c.event(event)).unwrap_or_else(|| panic!("{channel} declares {event}"));
    let schema: Value = serde_json::from_str(ev.envelope_schema).unwrap();
    jsonschema::options().should_validate_formats(true).build(&schema).unwrap()
}

fn model_example(name: &str) -> Value {
    let ev = cableway::channels::find("AiOrchestrationChannel").unwrap().event("workflow.run.status.changed").unwrap();
    let schema: Value = serde_json::from_str(ev.envelope_schema).unwrap();
    schema["$defs"][name]["examples"][0].clone()
}

/// Seed 001, "workflow.run.status.changed", as printed (the `{ "..." : "..." }` are the seed's elisions).
const SEED_RUN_STATUS: &str = r#"{
  "event": "workflow.run.status.changed",
  "resource_type": "workflow_run",
  "resource_id": "run-id",
  "payload": {
    "workflow_run": { "..." : "..." },
    "workflow_stats": { "..." : "..." }
  },
  "timestamp": "2025-10-11T21:07:00Z"
}"#;

/// Seed 001, "workflow.node.execution.updated", exactly as printed.
const SEED_NODE_EXECUTION: &str = r#"{
  "event": "workflow.node.execution.updated",
  "resource_type": "node_execution",
  "resource_id": "execution-id",
  "payload": {
    "id": "execution-id",
    "execution_id": "execution-id",
    "status": "completed",
    "node_name": "Start",
    "node_type": "start",
    "started_at": "2025-10-11T21:07:00Z",
    "completed_at": "2025-10-11T21:07:01Z",
    "duration_ms": 1000
  }
}"#;

#[test]
fn node_execution_example_validates_once_it_names_its_workflow() {
    // The seed's troubleshooting wants node updates at the workflow level too; its printed
    // payload names no workflow, so as printed it is refused where the field is missing,
    // and with the workflow it validates unchanged otherwise.
    let v = envelope_validator("AiOrchestrationChannel", "workflow.node.execution.updated");
    let mut example: Value = serde_json::from_str(SEED_NODE_EXECUTION).unwrap();
    let missing: Vec<String> = v.iter_errors(&example).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(missing.len() == 1 && missing[0].contains("workflow_id") && missing[0].ends_with("at /payload"), "{missing:?}");
    example["payload"]["workflow_id"] = json!("workflow-id");
    let errors: Vec<String> = v.iter_errors(&example).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn run_status_example_validates_with_its_elisions_filled_from_the_models() {
    let v = envelope_validator("AiOrchestrationChannel", "workflow.run.status.changed");
    let mut example: Value = serde_json::from_str(SEED_RUN_STATUS).unwrap();
    example["payload"]["workflow_run"] = model_example("WorkflowRun");
    example["payload"]["workflow_stats"] = model_example("WorkflowStats");
    let errors: Vec<String> = v.iter_errors(&example).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(example["resource_id"], example["payload"]["workflow_run"]["id"], "resource_id is the run's id");
}

#[test]
fn the_literal_elision_is_rejected_where_fields_are_missing() {
    // "Missing fields break frontend state management": an empty run object must not pass.
    let v = envelope_validator("AiOrchestrationChannel", "workflow.run.status.changed");
    let example: Value = serde_json::from_str(SEED_RUN_STATUS).unwrap();
    let paths: Vec<String> = v.iter_errors(&example).map(|e| e.instance_path().to_string()).collect();
    assert!(paths.iter().any(|p| p == "/payload/workflow_run"), "{paths:?}");
}

#[test]
fn run_status_fans_out_to_run_workflow_and_account() {
    let ev = cableway::channels::find("AiOrchestrationChannel").unwrap().event("workflow.run.status.changed").unwrap();
    let payload = json!({ "workflow_run": model_example("WorkflowRun"), "workflow_stats": model_example("WorkflowStats") });
    let keys: Vec<String> = ev.publish_to.iter().map(|t| t.render(&payload).unwrap()).collect();
    assert_eq!(keys, ["ai_orchestration:workflow_run:run-id", "ai_orchestration:workflow:workflow-id", "ai_orchestration:account:account-id"]);
}
