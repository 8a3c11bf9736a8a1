//! The real Wharf broker, in-process on 127.0.0.1:0 over a temp dir, for the bench's tests.

use wharf_broker::{BrokerConfig, Server};

pub struct RunningBroker {
    pub addr: String,
    _dir: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
}

pub async fn start() -> RunningBroker {
    start_with(|_| {}).await
}

pub async fn start_with(tweak: impl FnOnce(&mut BrokerConfig)) -> RunningBroker {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = BrokerConfig {
        listen: "127.0.0.1:0".parse().expect("addr"),
        data_dir: dir.path().to_path_buf(),
        ..Default::default()
    };
    tweak(&mut config);
    let server = Server::start(config).await.expect("start broker");
    let addr = server.local_addr().to_string();
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(server.run(async {
        let _ = rx.await;
    }));
    RunningBroker {
        addr,
        _dir: dir,
        _stop: tx,
    }
}
