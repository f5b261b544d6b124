//! The happy paths against a third-party Runtime and Extensions API
//! simulator (the `lambda-simulator` crate), as a cross-check of our own
//! reading of the protocol: registration, invocations, errors, init errors,
//! freeze/thaw between invocations, and SHUTDOWN.
//!
//! The simulator cannot inject faults, use a base path or enforce timeouts;
//! those cases run against `MockRuntime`.

use std::time::Duration;

use lambda_simulator::{
    FreezeMode, InvocationBuilder, InvocationStatus, ShutdownReason, Simulator,
};
use serde_json::{Value, json};

use crate::support::*;

const WAIT_SIM: Duration = Duration::from_secs(15);

async fn simulator(freeze: bool) -> Simulator {
    let mut builder = Simulator::builder().invocation_timeout(Duration::from_secs(30));
    if freeze {
        builder = builder.freeze_mode(FreezeMode::Process);
    }
    builder.build().await.expect("the simulator starts")
}

fn adapter_env(sim: &Simulator, port: u16) -> Vec<(String, String)> {
    vec![
        ("AWS_LAMBDA_RUNTIME_API".into(), sim.addr().to_string()),
        ("AWS_LWA_PORT".into(), port.to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME".into(), "sim-fn".into()),
    ]
}

/// Invokes and waits for the outcome.
async fn invoke(sim: &Simulator, payload: Value) -> lambda_simulator::InvocationState {
    let invocation = InvocationBuilder::new()
        .payload(payload)
        .timeout_ms(30_000)
        .build()
        .unwrap();
    let id = sim.enqueue(invocation).await;
    sim.wait_for(
        || async {
            sim.get_invocation_state(&id).await.is_some_and(|s| {
                s.status != InvocationStatus::Pending && s.status != InvocationStatus::InProgress
            })
        },
        WAIT_SIM,
    )
    .await
    .expect("the invocation completes");
    sim.get_invocation_state(&id).await.unwrap()
}

fn http_api(path: &str) -> Value {
    json!({"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "a=1&a=2",
        "cookies": ["s=1"], "headers": {"host": "sim.example"},
        "requestContext": {"http": {"method": "GET", "path": path}}, "isBase64Encoded": false})
}

#[tokio::test(flavor = "multi_thread")]
async fn registers_serves_and_shuts_down() {
    let app = EchoApp::start();
    let sim = simulator(false).await;
    let mut adapter = spawn_with(&[], &adapter_env(&sim, app.port));

    let state = invoke(&sim, http_api("/hello")).await;
    assert_eq!(state.status, InvocationStatus::Success, "{:?}", state.error);
    let result = state.response.unwrap().payload;
    assert_eq!(result["statusCode"], 200);
    let echoed: Value = serde_json::from_str(result["body"].as_str().unwrap()).unwrap();
    assert_eq!(echoed["target"], "/hello?a=1&a=2");
    let headers = echoed["headers"].as_array().unwrap();
    assert!(headers.contains(&json!(["cookie", "s=1"])), "{headers:?}");
    let context = headers
        .iter()
        .find(|h| h[0] == "x-amzn-lambda-context")
        .unwrap();
    let context: Value = serde_json::from_str(context[1].as_str().unwrap()).unwrap();
    assert_eq!(context["request_id"], state.invocation.request_id);
    assert!(context["deadline"].as_u64().unwrap() > 0);

    assert_eq!(sim.extension_count().await, 1);
    let extension = &sim.get_registered_extensions().await[0];
    assert_eq!(extension.name, "lambda-adapter");

    sim.graceful_shutdown(ShutdownReason::Spindown).await;
    assert_eq!(adapter.wait_exit(), Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_carry_the_adapters_error_type() {
    let app = EchoApp::start();
    let sim = simulator(false).await;
    let _adapter = spawn_with(&[], &adapter_env(&sim, app.port));
    let bad = json!({"version": "2.0", "rawPath": "/", "requestContext": {"http": {"path": "/"}}});
    let state = invoke(&sim, bad).await;
    assert_eq!(state.status, InvocationStatus::Error);
    let error = state.error.unwrap();
    assert_eq!(error.error_type, "Adapter.InvalidEvent");
    assert!(
        error.error_message.contains("requestContext.http.method"),
        "{}",
        error.error_message
    );
    // And the next one is served.
    let state = invoke(&sim, http_api("/after")).await;
    assert_eq!(state.status, InvocationStatus::Success, "{:?}", state.error);
}

#[tokio::test(flavor = "multi_thread")]
async fn configuration_errors_are_init_errors() {
    let sim = simulator(false).await;
    let mut env = adapter_env(&sim, 8080);
    env.push(("AWS_LWA_READINESS_CHECK_PROTOCOL".into(), "tcp".into()));
    env.push(("AWS_LWA_REMOVE_BASE_PATH".into(), "/ok".into()));
    env.push(("AWS_LWA_PASS_THROUGH_PATH".into(), "events".into()));
    let mut adapter = spawn_with(&[], &env);
    assert_eq!(adapter.wait_exit(), Some(1));
    let error = sim.get_init_error().await.expect("an init error");
    assert!(
        error.contains("Adapter.InvalidConfig") && error.contains("AWS_LWA_PASS_THROUGH_PATH"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn survives_being_frozen_between_invocations() {
    // Lambda freezes the sandbox between invocations; the simulator sends the
    // adapter SIGSTOP after each response and SIGCONT before the next event.
    let app = EchoApp::start();
    let sim = simulator(true).await;
    let adapter = spawn_with(&[], &adapter_env(&sim, app.port));
    sim.register_freeze_pid(adapter.pid());
    for i in 0..5 {
        let state = invoke(&sim, http_api(&format!("/frozen/{i}"))).await;
        assert_eq!(
            state.status,
            InvocationStatus::Success,
            "{i}: {:?}",
            state.error
        );
        sim.wait_for_frozen(WAIT_SIM)
            .await
            .expect("frozen after the response");
    }
}
