//! A load test of `trainer serve`: N `POST /api/predict` requests with one
//! picture from C concurrent clients over loopback; prints requests/s and
//! the latency percentiles. `scripts/serve-bench.sh` starts the server and
//! runs this.
//!
//!   cargo run --release -p trainer --example load -- URL PICTURE [REQUESTS] [CLIENTS]

use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, picture, rest @ ..] = args.as_slice() else {
        return Err("usage: load URL PICTURE [REQUESTS] [CLIENTS]".into());
    };
    let requests: usize = rest.first().map_or(Ok(10_000), |n| n.parse())?;
    let clients: usize = rest.get(1).map_or(Ok(32), |n| n.parse())?;
    let body = std::fs::read(picture)?;
    let endpoint = format!("{}/api/predict", url.trim_end_matches('/'));

    let started = Instant::now();
    let mut latencies: Vec<Duration> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..clients)
            .map(|client| {
                let (endpoint, body) = (&endpoint, &body);
                // Each client sends its share, one request after the other, on one connection.
                let share = requests / clients + usize::from(client < requests % clients);
                scope.spawn(move || -> Result<Vec<Duration>, String> {
                    let agent = ureq::Agent::new_with_defaults();
                    (0..share)
                        .map(|_| {
                            let sent = Instant::now();
                            let mut response = agent
                                .post(endpoint)
                                .header("Content-Type", "image/png")
                                .send(body.as_slice())
                                .map_err(|err| err.to_string())?;
                            response
                                .body_mut()
                                .read_to_string()
                                .map_err(|err| err.to_string())?;
                            Ok(sent.elapsed())
                        })
                        .collect()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().expect("a client thread"))
            .collect::<Result<Vec<_>, _>>()
            .map(|all| all.concat())
    })?;
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort();
    let percentile = |p: f64| latencies[((latencies.len() - 1) as f64 * p).round() as usize];
    println!(
        "{} requests from {clients} clients in {seconds:.2} s: {:.0} requests/s, latency p50 {:.2} ms, p99 {:.2} ms",
        latencies.len(),
        latencies.len() as f64 / seconds,
        percentile(0.50).as_secs_f64() * 1e3,
        percentile(0.99).as_secs_f64() * 1e3,
    );
    Ok(())
}
