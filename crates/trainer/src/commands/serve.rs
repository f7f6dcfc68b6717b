//! `trainer serve`: the web app over an artifacts directory, until Ctrl-C.

use std::io::Write;
use std::net::SocketAddr;

use crate::cli::ServeArgs;
use crate::error::Error;
use serve::{Catalog, router, serve};

/// Serves the runs under `args.artifacts` on `args.host`:`args.port`.
pub fn run(args: &ServeArgs) -> Result<(), Error> {
    let address = SocketAddr::new(args.host, args.port);
    let serve_error = |source| Error::Serve { address, source };
    // Decoding pictures is CPU work: more blocking threads than cores only
    // adds memory (each thread's allocator heap), not speed, and one core is
    // left to the connections, so that a flood of uploads does not starve
    // `/health` or the accept loop.
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .max_blocking_threads(cores.saturating_sub(1).max(1))
        .enable_all()
        .build()
        .map_err(serve_error)?;
    runtime.block_on(async {
        let listener = listen(address).map_err(serve_error)?;
        let bound = listener.local_addr().map_err(serve_error)?;
        if !args.host.is_loopback() {
            eprintln!(
                "warning: listening on {bound}: anyone who can reach this machine can read these runs"
            );
        }
        println!(
            "serving the runs of {} on http://{bound}/ (Ctrl-C stops)",
            args.artifacts.display()
        );
        // Tests and scripts read the address from this line.
        let _ = std::io::stdout().flush();
        serve(listener, router(Catalog::new(&args.artifacts)), async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
        Ok(())
    })
}

/// Connections the kernel queues before `accept` takes them: tokio's
/// `bind` asks for 1024, and a burst of clients (the stress script's 900
/// idle connections at once) overflowed it, so that a `/health` probe's
/// dropped SYN waited a second for its retry. The kernel caps it at
/// `net.core.somaxconn`.
const ACCEPT_BACKLOG: u32 = 4096;

/// A listener on `address` with [`ACCEPT_BACKLOG`].
fn listen(address: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = match address {
        std::net::SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        std::net::SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    // As tokio's `bind` does: a restarted server takes its port back at once.
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(ACCEPT_BACKLOG)
}
