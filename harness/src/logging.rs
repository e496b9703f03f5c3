//! Diagnostics on stderr through `tracing`; `RUST_LOG` picks the level (default: info).

/// kube-client logs every 5xx answer at ERROR, also those a step provokes on purpose (a
/// failing probe read through the pod proxy answers 500). The caller gets each of them as
/// an error anyway, so by default that logger is silent; `RUST_LOG` brings it back.
const DEFAULT_FILTER: &str = "info,kube_client::client::builder=off";

pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_FILTER));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
