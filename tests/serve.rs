//! `trainer serve`: the API against the HTTP table of `docs/errors.md`, and
//! the page in a real browser (Debian's headless Chromium through
//! chromedriver) drawing a 7.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::util::{repo_root, reproducible_backends, trainer, trainer_binary};
use serde_json::{Value, json};

/// A trained notebook (one epoch) with its pictures, shared by the tests of
/// this file: `(artifacts directory, run id)`.
fn trained() -> &'static (tempfile::TempDir, String) {
    static RUN: OnceLock<(tempfile::TempDir, String)> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let backend = reproducible_backends()
            .into_iter()
            .next()
            .expect("a CPU backend is compiled in");
        let config = repo_root().join("configs/notebook.toml");
        trainer(
            dir.path(),
            &[
                "train",
                "--config",
                config.to_str().unwrap(),
                "--epochs",
                "1",
                "--backend",
                &backend,
                "--artifacts",
                "artifacts",
            ],
        )
        .ok();
        (dir, "notebook/run-001".to_owned())
    })
}

/// A `trainer serve` process on a free loopback port, killed when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(artifacts: &Path) -> Self {
        let mut child = Command::new(trainer_binary())
            .args(["serve", "--port", "0", "--artifacts"])
            .arg(artifacts)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("trainer serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .split_whitespace()
            .find(|word| word.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .trim_end_matches('/')
            .to_owned();
        Self { child, url }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP client that hands back 4xx and 5xx answers instead of failing.
fn client() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// `(status, JSON body)` of a request.
fn request(method: &str, url: &str, content_type: &str, body: &[u8]) -> (u16, Value) {
    let agent = client();
    let response = match method {
        "GET" => agent.get(url).call(),
        "POST" => agent
            .post(url)
            .header("Content-Type", content_type)
            .send(body),
        _ => panic!("method {method}"),
    };
    let mut response = response.unwrap_or_else(|err| panic!("{method} {url}: {err}"));
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    let value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text:?}"));
    (status, value)
}

/// A PNG of `width` x `height` grey pixels.
fn png(width: u32, height: u32, pixel: impl Fn(u32, u32) -> u8) -> Vec<u8> {
    let picture = image::GrayImage::from_fn(width, height, |x, y| image::Luma([pixel(x, y)]));
    let mut bytes = Vec::new();
    picture
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .unwrap();
    bytes
}

/// The bodies the HTTP table of `docs/errors.md` names: `(content type, bytes)`.
fn fixture(name: &str) -> (&'static str, Vec<u8>) {
    let mut bright = vec![0; 784];
    bright[5] = 300;
    match name {
        "none" => ("image/png", Vec::new()),
        "hello.png" => ("image/png", b"hello".to_vec()),
        "blank.png" => ("image/png", png(64, 64, |_, _| 255)),
        "big.png" => ("image/png", vec![0; 3 << 20]),
        "seven.png" => ("image/png", seven_png()),
        "broken.json" => ("application/json", b"{".to_vec()),
        "short.json" => ("application/json", br#"{"pixels": [1, 2, 3]}"#.to_vec()),
        "black.json" => (
            "application/json",
            json!({ "pixels": vec![0; 784] }).to_string().into(),
        ),
        "shouted.json" => ("APPLICATION/JSON", br#"{"pixels": [1, 2, 3]}"#.to_vec()),
        "bright.json" => (
            "application/json",
            json!({ "pixels": bright }).to_string().into(),
        ),
        other => panic!("no fixture {other}"),
    }
}

/// A 7 drawn as a person would: dark strokes on white paper.
fn seven_png() -> Vec<u8> {
    png(100, 100, |x, y| {
        let top_bar = (20..=80).contains(&x) && (18..=28).contains(&y);
        // The stem from (80, 23) down to (40, 85).
        let stem_x = 80.0 - (f64::from(y) - 23.0) * 40.0 / 62.0;
        let stem = (23..=85).contains(&y) && (f64::from(x) - stem_x).abs() <= 6.0;
        if top_bar || stem { 0 } else { 255 }
    })
}

/// The numbers of a JSON array, as the f32s they were computed as.
fn f32s(values: &Value) -> Vec<f32> {
    values
        .as_array()
        .expect("an array")
        .iter()
        .map(|value| value.as_f64().expect("a number") as f32)
        .collect()
}

/// One row of the HTTP table: the request and the expected answer.
struct Row {
    method: String,
    path: String,
    body: String,
    status: u16,
    error: String,
}

/// The rows of `docs/errors.md`'s table of bad requests.
fn http_table() -> Vec<Row> {
    let doc = std::fs::read_to_string(repo_root().join("docs/errors.md")).unwrap();
    doc.lines()
        .filter(|line| {
            line.starts_with("| ") && (line.contains("`GET ") || line.contains("`POST "))
        })
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
            assert_eq!(cells.len(), 5, "five cells: {line}");
            let code = |cell: &str| cell.trim_matches('`').to_owned();
            let request = code(cells[1]);
            let (method, path) = request.split_once(' ').expect("METHOD PATH");
            Row {
                method: method.to_owned(),
                path: path.to_owned(),
                body: code(cells[2]),
                status: cells[3].parse().expect("a status"),
                error: code(cells[4]),
            }
        })
        .collect()
}

#[test]
fn the_api_serves_runs_and_predicts_as_the_cli_does() {
    let (dir, id) = trained();
    let server = Server::start(&dir.path().join("artifacts"));
    assert_eq!(
        request("GET", &format!("{}/health", server.url), "", &[]),
        (200, json!({ "status": "ok" }))
    );

    let (status, runs) = request("GET", &format!("{}/api/runs", server.url), "", &[]);
    assert_eq!(status, 200);
    assert_eq!(runs[0]["id"], id.as_str());
    assert_eq!(runs[0]["status"], "finished");
    assert_eq!(runs[0]["epochs"], 1);

    let (status, run) = request("GET", &format!("{}/api/runs/{id}", server.url), "", &[]);
    assert_eq!(status, 200);
    assert_eq!(run["history"].as_array().unwrap().len(), 1);
    assert_eq!(run["config"]["name"], "notebook");
    assert_eq!(
        run["pictures"],
        json!(["curves.png", "confusion.png", "mistakes.png"])
    );
    let mut curves = client()
        .get(format!("{}/api/runs/{id}/files/curves.png", server.url))
        .call()
        .unwrap();
    assert_eq!(curves.status().as_u16(), 200);
    assert!(
        curves
            .body_mut()
            .read_to_vec()
            .unwrap()
            .starts_with(b"\x89PNG")
    );

    // The run's ONNX model, as `trainer export` writes it, as a download.
    let mut model = client()
        .get(format!("{}/api/runs/{id}/model.onnx", server.url))
        .call()
        .unwrap();
    assert_eq!(model.status().as_u16(), 200);
    assert_eq!(
        model.headers().get("content-disposition").unwrap(),
        "attachment; filename=\"notebook-run-001.onnx\""
    );
    let served = model
        .body_mut()
        .with_config()
        .limit(1 << 30)
        .read_to_vec()
        .unwrap();
    let exported = dir.path().join("exported.onnx");
    let run_dir = dir.path().join("artifacts").join(id);
    trainer(
        dir.path(),
        &[
            "export",
            "--run",
            run_dir.to_str().unwrap(),
            "-o",
            exported.to_str().unwrap(),
        ],
    )
    .ok();
    assert_eq!(served, std::fs::read(&exported).unwrap());

    // The server reads a picture as `predict --image` does, with the same network.
    std::fs::write(dir.path().join("seven.png"), seven_png()).unwrap();
    let cli = trainer(
        dir.path(),
        &[
            "predict",
            "--run",
            &format!("artifacts/{id}"),
            "--image",
            "seven.png",
            "--json",
        ],
    );
    let cli: Value = serde_json::from_str(cli.ok().trim()).unwrap();
    let (status, answer) = request(
        "POST",
        &format!("{}/api/predict?run={id}", server.url),
        "image/png",
        &seven_png(),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["digit"], 7);
    assert_eq!(answer["digit"], cli["digit"]);
    assert_eq!(f32s(&answer["probabilities"]), f32s(&cli["probabilities"]));
    assert_eq!(answer["pixels"].as_array().unwrap().len(), 784);

    // The 784 grey values the server saw, sent back as JSON, read the same.
    let (status, again) = request(
        "POST",
        &format!("{}/api/predict", server.url),
        "application/json",
        json!({ "pixels": answer["pixels"] }).to_string().as_bytes(),
    );
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["probabilities"], answer["probabilities"]);
    assert_eq!(
        again["run"],
        id.as_str(),
        "the newest finished run by default"
    );

    // Concurrent requests share batches and each gets its own answer.
    let answers: Vec<Value> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..16)
            .map(|_| {
                scope.spawn(|| {
                    request(
                        "POST",
                        &format!("{}/api/predict?run={id}", server.url),
                        "image/png",
                        &seven_png(),
                    )
                    .1
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    // A batch of several images may sum the dense layer in another order
    // than a batch of one: equal to float rounding, not to the bit.
    let alone = f32s(&answer["probabilities"]);
    for shared in &answers {
        assert_eq!(shared["digit"], 7, "{shared}");
        for (a, b) in f32s(&shared["probabilities"]).iter().zip(&alone) {
            assert!((a - b).abs() <= 1e-6, "{a} vs {b}");
        }
    }
}

#[test]
fn every_bad_request_of_the_table_gets_its_status_and_one_json_line() {
    let (dir, _) = trained();
    // A private copy: the table's unfinished run and symlink go into it.
    let artifacts = tempfile::tempdir().unwrap();
    let run = artifacts.path().join("notebook/run-001");
    std::fs::create_dir_all(&run).unwrap();
    let trained_run = dir.path().join("artifacts/notebook/run-001");
    for file in ["config.json", "model.bpk", "history.json"] {
        std::fs::copy(trained_run.join(file), run.join(file)).unwrap();
    }
    let unfinished = artifacts.path().join("notebook/run-002");
    std::fs::create_dir_all(&unfinished).unwrap();
    std::fs::copy(run.join("config.json"), unfinished.join("config.json")).unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir(outside.path().join("run-007")).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        outside.path().join("run-007"),
        artifacts.path().join("notebook/run-007"),
    )
    .unwrap();
    // A run inside whose files link to a finished run's files outside.
    let linked = artifacts.path().join("notebook/run-008");
    std::fs::create_dir(&linked).unwrap();
    for file in ["config.json", "model.bpk", "history.json"] {
        std::fs::copy(run.join(file), outside.path().join(file)).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(outside.path().join(file), linked.join(file)).unwrap();
    }

    let server = Server::start(artifacts.path());
    let (_, runs) = request("GET", &format!("{}/api/runs", server.url), "", &[]);
    let listed: Vec<(&str, &str)> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|run| (run["id"].as_str().unwrap(), run["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        listed,
        [
            ("notebook/run-001", "finished"),
            ("notebook/run-008", "unfinished"),
            ("notebook/run-002", "unfinished"),
        ],
        "the link out is not listed; the run of links is not finished"
    );
    let (_, details) = request(
        "GET",
        &format!("{}/api/runs/notebook/run-008", server.url),
        "",
        &[],
    );
    assert_eq!(
        details["config"],
        Value::Null,
        "no file read through a link"
    );
    let rows = http_table();
    assert!(rows.len() >= 15, "the table has {} rows", rows.len());
    for row in rows {
        let (content_type, body) = fixture(&row.body);
        let (status, answer) = request(
            &row.method,
            &format!("{}{}", server.url, row.path),
            content_type,
            &body,
        );
        let what = format!("{} {} with {}", row.method, row.path, row.body);
        assert_eq!(status, row.status, "{what}: {answer}");
        assert_eq!(answer, json!({ "error": row.error }), "{what}");
    }
    // No bad request took the server down.
    assert_eq!(
        request("GET", &format!("{}/health", server.url), "", &[]).0,
        200
    );
}

/// What a raw request over a fresh connection to `server` gets back, read
/// until the server closes it (or 60 s pass): the status line and all.
fn raw(server: &Server, request: &[u8]) -> String {
    use std::io::{Read, Write};
    let address = server.url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

/// Bugs: a declared 100 GB body got `100 Continue` and a wait instead of a
/// 413; a half-sent request kept a stopped server alive for as long as its
/// client liked; an idle connection was held forever.
#[test]
fn the_server_refuses_oversized_bodies_early_and_does_not_wait_for_slow_clients() {
    let artifacts = tempfile::tempdir().unwrap();
    let mut server = Server::start(artifacts.path());
    let answer = raw(
        &server,
        b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n\
          Content-Length: 99999999999\r\nExpect: 100-continue\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer:?}");
    assert!(answer.contains(r#"{"error":"request body over the limit of 2097152 bytes"}"#));

    // Silent, then closed by the server (its header timeout), not held.
    let silent = raw(&server, b"");
    assert!(!silent.contains("200 OK"), "{silent:?}");

    // A request half sent, then Ctrl-C: the server stops without its client.
    use std::io::Write;
    let address = server.url.trim_start_matches("http://").to_owned();
    let mut slow = std::net::TcpStream::connect(&address).unwrap();
    slow.write_all(
        b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 1000\r\n\r\n0123456789",
    )
    .unwrap();
    assert_eq!(
        request("GET", &format!("{}/health", server.url), "", &[]).0,
        200,
        "other clients are served meanwhile"
    );
    let interrupted = Command::new("kill")
        .args(["-INT", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.child.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "the server waits for a client that never finishes its request"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(slow);
}

#[test]
fn serve_listens_on_loopback_unless_told_and_warns_when_told() {
    let dir = tempfile::tempdir().unwrap();
    let help = trainer(dir.path(), &["serve", "--help"]);
    assert!(help.ok().contains("[default: 127.0.0.1]"));

    let mut child = Command::new(trainer_binary())
        .args(["serve", "--host", "0.0.0.0", "--port", "0", "--artifacts"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut warning = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut warning)
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        warning.starts_with("warning: listening on 0.0.0.0:"),
        "{warning:?}"
    );

    // A port already taken is one error line.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    trainer(dir.path(), &["serve", "--port", &port])
        .fails_with(&format!("cannot serve on 127.0.0.1:{port}: "));
}

// ----- The page in a browser -----

/// Where the browser test leaves its screenshots.
fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("serve-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// chromedriver and Chromium, if installed (Debian: `chromium chromium-driver`).
fn browser() -> Option<(PathBuf, PathBuf)> {
    let driver = which("chromedriver")?;
    let chromium = which("chromium").or_else(|| which("chromium-browser"))?;
    Some((driver, chromium))
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
}

/// A headless Chromium session driven through W3C WebDriver's JSON
/// endpoints: the handful of calls this test needs, over the HTTP client
/// the API tests use, instead of a second HTTP stack from a client crate.
struct Browser {
    driver: Child,
    session: String,
    agent: ureq::Agent,
}

impl Browser {
    fn start(driver: &Path, chromium: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver_process = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let mut browser = Self {
            driver: driver_process,
            session: format!("http://127.0.0.1:{port}/session"),
            agent: client(),
        };
        let started = Instant::now();
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1280,900", "--hide-scrollbars"],
            },
        }}});
        let session = loop {
            match browser
                .agent
                .post(&browser.session)
                .send_json(&capabilities)
            {
                Ok(mut response) if response.status().is_success() => {
                    break response.body_mut().read_json::<Value>().unwrap();
                }
                _ if started.elapsed() < Duration::from_secs(30) => {
                    std::thread::sleep(Duration::from_millis(200));
                }
                other => panic!("no WebDriver session: {other:?}"),
            }
        };
        let id = session["value"]["sessionId"].as_str().unwrap().to_owned();
        browser.session = format!("{}/{id}", browser.session);
        browser
    }

    fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.session);
        let mut response = match method {
            "GET" => self.agent.get(&url).call(),
            _ => self.agent.post(&url).send_json(&body),
        }
        .unwrap();
        let answer: Value = response.body_mut().read_json().unwrap();
        assert!(response.status().is_success(), "{path}: {answer}");
        answer["value"].clone()
    }

    fn goto(&self, url: &str) {
        self.call("POST", "/url", json!({ "url": url }));
    }

    /// Runs `script` (a function body) in the page and returns its value.
    fn eval(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            json!({ "script": script, "args": [] }),
        )
    }

    /// Waits until `script` returns true.
    fn wait_for(&self, script: &str, what: &str) {
        let started = Instant::now();
        while self.eval(script) != Value::Bool(true) {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "timed out waiting for {what}; page says: {}",
                self.eval("return document.body.innerText")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn resize(&self, width: u32, height: u32) {
        self.call(
            "POST",
            "/window/rect",
            json!({ "width": width, "height": height }),
        );
    }

    fn screenshot(&self, name: &str) -> PathBuf {
        use base64::Engine;
        let png = self.call("GET", "/screenshot", Value::Null);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        let path = screenshot_dir().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// Draws `strokes` (each a list of points, in fractions of the element's
    /// size from its centre) on the element `selector` with the mouse.
    fn draw(&self, selector: &str, strokes: &[&[(f64, f64)]]) {
        let element = self.call(
            "POST",
            "/element",
            json!({ "using": "css selector", "value": selector }),
        );
        let rect = self.call(
            "GET",
            &format!("/element/{}/rect", element_id(&element)),
            Value::Null,
        );
        let (width, height) = (
            rect["width"].as_f64().unwrap(),
            rect["height"].as_f64().unwrap(),
        );
        let mut actions = Vec::new();
        for stroke in strokes {
            for (index, &(x, y)) in stroke.iter().enumerate() {
                actions.push(
                    json!({ "type": "pointerMove", "origin": element, "duration": 30,
                                     "x": (x * width) as i64, "y": (y * height) as i64 }),
                );
                if index == 0 {
                    actions.push(json!({ "type": "pointerDown", "button": 0 }));
                }
            }
            actions.push(json!({ "type": "pointerUp", "button": 0 }));
        }
        self.call("POST", "/actions", json!({ "actions": [{
            "type": "pointer", "id": "mouse", "parameters": { "pointerType": "mouse" }, "actions": actions,
        }]}));
    }
}

/// The id inside a WebDriver element reference.
fn element_id(element: &Value) -> String {
    element
        .as_object()
        .and_then(|object| object.values().next())
        .and_then(Value::as_str)
        .expect("an element reference")
        .to_owned()
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.agent.delete(&self.session).call();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

#[test]
fn a_person_draws_a_seven_and_browses_the_run_in_chromium() {
    let Some((driver, chromium)) = browser() else {
        assert!(
            std::env::var_os("BURNIST_BROWSER_TESTS").is_none(),
            "BURNIST_BROWSER_TESTS is set but chromedriver or chromium is not on PATH \
             (apt-get install chromium chromium-driver)"
        );
        eprintln!("skipped: no chromium/chromedriver (apt-get install chromium chromium-driver)");
        return;
    };
    let (dir, id) = trained();
    let server = Server::start(&dir.path().join("artifacts"));
    let browser = Browser::start(&driver, &chromium);

    browser.goto(&format!("{}/#/draw", server.url));
    browser.wait_for(
        "return document.querySelector('#run-picker').options.length > 0",
        "the run picker",
    );
    // A 7 stroke by stroke: the top bar, then the stem down to the left.
    browser.draw(
        "#pad",
        &[
            &[(-0.3, -0.3), (0.0, -0.3), (0.3, -0.3)],
            &[(0.3, -0.3), (0.1, 0.05), (-0.05, 0.35)],
        ],
    );
    browser.wait_for(
        "return document.querySelector('#digit').textContent === '7'",
        "the page to read a 7",
    );
    let seen_ink = browser.eval(
        "const d = document.querySelector('#seen').getContext('2d').getImageData(0, 0, 28, 28).data; \
         let ink = 0; for (let i = 0; i < d.length; i += 4) ink += d[i] > 128; return ink;",
    );
    assert!(
        seen_ink.as_u64().unwrap() > 20,
        "the 28x28 preview shows the digit: {seen_ink}"
    );
    browser.screenshot("draw-laptop.png");
    browser.resize(390, 844);
    browser.screenshot("draw-phone.png");

    browser.resize(1280, 900);
    browser.goto(&format!("{}/#/runs", server.url));
    browser.wait_for(
        &format!("return document.body.innerText.includes('{id}')"),
        "the runs table",
    );
    browser.screenshot("runs.png");
    browser.goto(&format!("{}/#/run/{}", server.url, id.replace('/', "%2F")));
    browser.wait_for(
        "const images = [...document.querySelectorAll('#run-pictures img')]; \
         return images.length === 3 && images.every(i => i.complete && i.naturalWidth > 0)",
        "the run's three pictures to load",
    );
    // A finished run offers its model for download.
    assert_eq!(
        browser.eval(
            "const link = document.querySelector('#run-download'); \
             return !link.hidden && link.getAttribute('href')"
        ),
        Value::String(format!("/api/runs/{id}/model.onnx"))
    );
    let path = browser.screenshot("run.png");
    browser.resize(390, 844);
    browser.screenshot("run-phone.png");
    eprintln!("screenshots: {}", path.parent().unwrap().display());
}
