"""tinyvae explore: the page's own JavaScript encodes and decodes as the Python model does (MLP and conv);
the page needs no network; a real headless Chromium loads it and answers the pointer, the drawing canvas
and a finger on a phone-sized screen; bad input is one line."""

import base64
import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinyvae
from tinyvae.cli import main
from tinyvae.engine.optim import Adam
from tinyvae.explore.page import latent_plane, view_box
from tinyvae.models.conv_vae import ConvVAE
from tinyvae.training.checkpoint import load_checkpoint, save_checkpoint

ROOT = Path(__file__).resolve().parents[1]
RUNS = {  # name: extra `tinyvae train` flags
    "vae": [],
    "vae3": ["--latent", "3", "--hidden", "24", "12"],  # a PCA plane, two hidden layers
    "cvae": ["--model", "cvae"],
    "ae": ["--model", "ae", "--hidden", "20"],
    "conv": ["--arch", "conv", "--hidden", "8"],
}


@pytest.fixture(scope="module")
def runs(cli_run, tmp_path_factory):
    """Real run folders, trained for one epoch on 200 images, each with its explore.html."""
    root = tmp_path_factory.mktemp("runs")
    for name, flags in RUNS.items():
        cli_run(*flags).copy_to(root / name)
        assert main(["explore", str(root / name)]) == 0
    return root


def parts(html: str) -> tuple[dict, list[str]]:
    """The page's data record and its two inline scripts (network.js, explore.js), as embedded."""
    data = re.search(r'<script id="tinyvae-data" type="application/json">(.*?)</script>', html, re.S).group(1)
    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    assert len(scripts) == 2
    return json.loads(data), scripts


class JSNetwork:
    """The page's own network.js, run in V8 (mini-racer) on a model description."""

    def __init__(self, model_record: dict, network_js: str) -> None:
        from py_mini_racer import MiniRacer

        self.js = MiniRacer()
        self.js.eval(network_js)
        self.js.eval(f"var net = tinyvaeNetwork.makeNetwork({json.dumps(model_record)});")

    def decode(self, z: np.ndarray, digit: int | None = None) -> np.ndarray:
        call = f"JSON.stringify(Array.from(net.decode({json.dumps(z.tolist())}, {json.dumps(digit)})))"
        return np.array(json.loads(self.js.eval(call)))

    def encode(self, x: np.ndarray, digit: int | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        call = (f"var e = net.encode({json.dumps(x.tolist())}, {json.dumps(digit)}); "
                "JSON.stringify([Array.from(e.mean), e.logvar && Array.from(e.logvar)])")
        mean, logvar = json.loads(self.js.eval(call))
        return np.array(mean), None if logvar is None else np.array(logvar)


def js_network(html: str) -> JSNetwork:
    data, (network_js, _) = parts(html)
    return JSNetwork(data["model"], network_js)


def js_decoder(html: str):
    """A function (z, digit) -> x_hat that runs the page's own network.js in V8 (mini-racer)."""
    return js_network(html).decode


# ---- the page's JavaScript against the Python model ---------------------------------------------------
@pytest.mark.parametrize("name", ["vae", "vae3", "ae", "conv"])
def test_javascript_decoder_matches_python(runs, name):
    model = tinyvae.load(runs / name)
    decode = js_decoder((runs / name / "explore.html").read_text())
    z = np.random.default_rng(7).normal(0, 2, (6, model.z_dim)).astype(np.float32)
    expected = model.decode(z)  # (6, 784), float32
    got = np.stack([decode(zi) for zi in z])
    assert got.shape == (6, 784) and expected.std(axis=0).max() > 1e-3  # the images differ from z to z
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)


def test_javascript_decoder_matches_python_cvae_every_digit(runs):
    model = tinyvae.load(runs / "cvae")
    decode = js_decoder((runs / "cvae" / "explore.html").read_text())
    z = np.random.default_rng(8).normal(0, 2, (3, model.z_dim)).astype(np.float32)
    for digit in range(10):
        expected = model.decode(z, np.full(3, digit))
        got = np.stack([decode(zi, digit) for zi in z])
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5, err_msg=f"digit {digit}")
    assert np.abs(decode(z[0], 3) - decode(z[0], 5)).max() > 1e-4  # the digit reaches the decoder


def test_javascript_decoder_refuses_bad_input(runs):
    from py_mini_racer import JSEvalException

    decode = js_decoder((runs / "cvae" / "explore.html").read_text())
    with pytest.raises(JSEvalException, match="z must have 2 numbers"):
        decode(np.zeros(3), 1)
    with pytest.raises(JSEvalException, match=r"conditioned on a digit 0..9"):
        decode(np.zeros(2), None)
    with pytest.raises(JSEvalException, match=r"image\[3\] is not a number in \[0, 1\]"):
        js_network((runs / "vae" / "explore.html").read_text()).encode(np.r_[np.zeros(3), 1.5, np.zeros(780)])


@pytest.mark.parametrize("name", ["vae", "vae3", "ae", "conv", "cvae"])
def test_javascript_encoder_matches_python(runs, name):
    """encode gives the posterior's mean and log-variance (an AE: its code), as the model does, to 1e-4
    on real test digits and on noise (the page reads its drawing canvas as any 784 values in [0, 1])."""
    model, state, _ = tinyvae.training.runs.load_with_state(runs / name)
    test = tinyvae.training.runs.run_data(state, model)
    net = js_network((runs / name / "explore.html").read_text())
    x = np.concatenate([test.x_test[:3], np.random.default_rng(9).uniform(0, 1, (2, 784))]).astype(np.float32)
    y = np.array([3, 1, 4, 1, 5])
    labels = model.labels_for(y)
    got = [net.encode(xi, None if labels is None else int(yi)) for xi, yi in zip(x, y)]
    mu, logvar = model.encode(x, labels)  # logvar None: no posterior (an AE), and the page's is null
    if logvar is None:
        assert all(g[1] is None for g in got) and not model.has_posterior
    else:
        np.testing.assert_allclose(np.stack([g[1] for g in got]), logvar, rtol=0, atol=1e-4)
    assert np.abs(mu - mu.mean(axis=0)).max() > 1e-3  # the images' codes differ
    np.testing.assert_allclose(np.stack([g[0] for g in got]), mu, rtol=0, atol=1e-4)


@pytest.mark.parametrize("kind", ["conv2d", "conv_transpose2d"])
def test_javascript_convolution_follows_the_described_padding(kind):
    """network.js reads the padding from the model description: a layer padded on one side only
    (Keras's 'same' at stride 2: nothing before, one row and column after) against torch, with the
    padding written out by hand (F.pad before a conv; the full transposed conv cropped after)."""
    import torch
    import torch.nn.functional as F

    from tinyvae.explore.network import float32_base64

    rng = np.random.default_rng(3)
    C_in, C_out, k, s, H = 3, 2, 3, 2, 6
    Wt = rng.normal(size=(C_in, C_out, k, k) if kind == "conv_transpose2d" else (C_out, C_in, k, k)).astype(np.float32)
    b = rng.normal(size=C_out).astype(np.float32)
    x = rng.normal(size=(1, C_in, H, H)).astype(np.float32)
    tW, tb, tx = (torch.tensor(a, dtype=torch.float64) for a in (Wt, b, x))
    if kind == "conv2d":  # Keras 'same': 6 -> 3, pad 0 before and 1 after
        expected = F.conv2d(F.pad(tx, (0, 1, 0, 1)), tW, tb, stride=s)
    else:  # Keras 'same': 6 -> 12, the full (6 - 1)·2 + 3 = 13 rows cropped to the first 12
        expected = F.conv_transpose2d(tx, tW, tb, stride=s)[:, :, :12, :12]
    out = expected.shape[-1]
    layer = {"kind": kind, "in_channels": C_in, "out_channels": C_out, "kernel": [k, k], "stride": [s, s],
             "pad": [0, 0], "in_size": [H, H], "out_size": [out, out], "W": float32_base64(Wt), "b": float32_base64(b)}
    record = {"z_dim": C_in * H * H, "x_dim": C_out * out * out, "n_classes": 0, "output": "identity",
              "decoder": {"layers": [layer]}, "encoder": {"layers": [], "mean": layer, "logvar": None}}
    got = JSNetwork(record, (ROOT / "tinyvae" / "explore" / "network.js").read_text()).decode(x.ravel())
    np.testing.assert_allclose(got, expected.numpy().ravel(), rtol=0, atol=1e-9)
    record["decoder"]["layers"][0]["pad"] = [1, 1]  # torch's symmetric padding: a different result
    assert np.abs(JSNetwork(record, (ROOT / "tinyvae" / "explore" / "network.js").read_text())
                  .decode(x.ravel()) - expected.numpy().ravel()).max() > 1e-2


# ---- the page itself ------------------------------------------------------------------------------------
def test_page_is_self_contained_and_its_csp_runs_exactly_its_scripts(runs):
    html = (runs / "vae" / "explore.html").read_text()
    data, scripts = parts(html)
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', html).group(1)
    assert "default-src 'none'" in csp
    for script in scripts:  # the browser runs an inline script only if its hash is in the policy
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp
    # no address and no way to fetch one (the policy would block it anyway: belt and braces)
    assert not re.search(r"https?:|\bwss?:|url\(|@import|fetch\(|XMLHttpRequest|WebSocket|EventSource|import\(", html)
    assert re.findall(r'(?:src|href)="([^"]*)"', html) == ["data:,"]  # only the empty icon
    assert data["model"]["name"] == "VAE" and data["model"]["posterior"] and data["plane"]["names"] == ["z1", "z2"]
    for script in scripts:  # the page follows what the description says the model has, never its name
        assert not re.search(r'model\.(kind|name)\s*[!=]==?|"(vae|ae|cvae|conv|mlp)"', script)
    images = np.frombuffer(base64.b64decode(data["points"]["images"]), np.uint8).reshape(-1, 784)
    model, state, _ = tinyvae.training.runs.load_with_state(runs / "vae")
    test = tinyvae.training.runs.run_data(state, model)
    assert len(images) == min(len(data["points"]["digits"]), 500)
    np.testing.assert_allclose(images / 255, test.x_test[:len(images)], rtol=0, atol=1e-6)  # MNIST's pixels are k/255


def test_points_are_the_test_means_on_the_plane(runs):
    model, state, _ = tinyvae.training.runs.load_with_state(runs / "vae3")
    test = tinyvae.training.runs.run_data(state, model)
    data, (decoder_js, _) = parts((runs / "vae3" / "explore.html").read_text())
    means = model.embed(test.x_test).astype(np.float64)
    plane = data["plane"]
    center, axes = np.array(plane["center"]), np.array(plane["axes"])
    np.testing.assert_allclose(center, means.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(axes @ axes.T, np.eye(2), atol=1e-12)  # orthonormal
    eigvals, eigvecs = np.linalg.eigh(np.cov(means.T))  # the top two principal directions, up to sign
    for k in range(2):
        assert abs(abs(axes[k] @ eigvecs[:, -1 - k]) - 1) < 1e-9
    assert plane["variance_held"] == pytest.approx(eigvals[-2:].sum() / eigvals.sum(), rel=1e-9)
    ab = np.frombuffer(base64.b64decode(data["points"]["ab"]), "<f4").reshape(-1, 2)
    np.testing.assert_allclose(ab, (means - center) @ axes.T, rtol=1e-6, atol=1e-6)
    assert data["points"]["digits"] == test.y_test.tolist()


def test_a_large_test_set_is_drawn_in_part_and_says_so(runs, monkeypatch):
    from tinyvae.explore import page

    model, state, _ = tinyvae.training.runs.load_with_state(runs / "vae")
    test = tinyvae.training.runs.run_data(state, model)
    monkeypatch.setattr(page, "MAX_POINTS", 50)
    points = page.page_data(model, test.x_test, test.y_test, title="t")["points"]
    assert len(points["digits"]) == 50 and points["of"] == len(test.y_test) == 200
    assert len(base64.b64decode(points["ab"])) == 50 * 2 * 4


def test_latent_plane_of_a_2d_latent_is_z_itself():
    means = np.random.default_rng(0).normal(size=(50, 2))
    plane = latent_plane(means)
    assert plane["center"] == [0.0, 0.0] and plane["axes"] == [[1.0, 0.0], [0.0, 1.0]]
    assert plane["variance_held"] == 1.0


def test_view_box_holds_the_points_and_for_a_vae_the_prior():
    coords = np.array([[4.0, 1.0], [6.0, 2.0], [5.0, 5.0]])
    ae = view_box(coords, prior=False)
    assert ae == {"center": [5.0, 3.0], "half_width": pytest.approx(2.2)}  # 1.1 × half the larger side (4)
    vae = view_box(coords, prior=True)  # spans -3..6 and -3..5
    assert vae == {"center": [1.5, 1.0], "half_width": pytest.approx(4.95)}


def test_load_returns_the_saved_model(runs):
    model = tinyvae.load(runs / "cvae")
    saved, _, _ = load_checkpoint(runs / "cvae" / "checkpoint.npz")
    assert type(model) is tinyvae.CVAE and model.config() == saved.config()
    for k in saved.params:
        np.testing.assert_array_equal(model.params[k], saved.params[k])
    with pytest.raises(FileNotFoundError, match="holds no checkpoint.npz"):
        tinyvae.load(runs)


def test_train_summary_mentions_explore(cli_run):
    run = cli_run()
    assert f"tinyvae explore {run.folder}" in run.stdout


# ---- bad input: one line, non-zero exit -------------------------------------------------------------
def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tinyvae", *args], capture_output=True, text=True, cwd=ROOT,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def one_line_error(p: subprocess.CompletedProcess) -> str:
    assert p.returncode == 2 and p.stdout == ""
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tinyvae explore: error: "), p.stderr
    return lines[0]


def test_run_folder_without_checkpoint(tmp_path):
    assert "holds no checkpoint.npz" in one_line_error(run_cli("explore", str(tmp_path)))


def test_a_conv_checkpoint_is_explorable_and_an_unknown_layer_refused(tmp_path):
    model = ConvVAE(hidden_dim=4, channels=(2, 2), rng=0, dtype=np.float32)
    save_checkpoint(tmp_path / "checkpoint.npz", model, Adam(model), epoch=0, rng=np.random.default_rng(0))
    from tinyvae.engine.layers import Layer
    from tinyvae.explore import check_drawable

    check_drawable(model)
    model.decoder.layers[1] = Layer()  # the ReLU after the first Linear, as a layer the page cannot compute
    with pytest.raises(ValueError, match="the explorer cannot compute a layer"):
        check_drawable(model)


def test_one_dimensional_latent_is_refused(cli_run):
    assert "at least 2 dimensions" in one_line_error(run_cli("explore", str(cli_run("--latent", "1").folder)))


def test_output_that_cannot_be_written(runs, tmp_path):
    (tmp_path / "a_file").write_text("")
    line = one_line_error(run_cli("explore", str(runs / "vae"), "--out", str(tmp_path / "a_file" / "page.html")))
    assert "not a writable directory" in line
    line = one_line_error(run_cli("explore", str(runs / "vae"), "--out", str(tmp_path)))
    assert "is a directory" in line
    assert "name an .html file" in one_line_error(run_cli("explore", str(runs / "vae"), "--out", "page.png"))


# ---- a real browser -----------------------------------------------------------------------------------------
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1400,1000"]


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("needs Chromium and its driver on PATH (Debian/Ubuntu: apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (the test extra)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    yield driver
    driver.quit()


def open_page(driver, page: Path) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get_log("performance"), driver.get_log("browser")  # start both logs empty
    driver.get(page.as_uri())
    WebDriverWait(driver, 30).until(lambda d: d.execute_script("return window.tinyvae && window.tinyvae.ready"))


def requests_made(driver, page: Path) -> list[str]:
    """The URLs the page asked for (Chrome's network log, DevTools protocol), since the last call."""
    events = [json.loads(e["message"])["message"] for e in driver.get_log("performance")]
    return [e["params"]["request"]["url"] for e in events
            if e["method"] == "Network.requestWillBeSent" and e["params"].get("documentURL") == page.as_uri()]


def digit_image(driver) -> str:
    return driver.execute_script("return document.getElementById('digit').toDataURL()")


def test_browser_loads_the_page_offline_and_follows_the_pointer(runs, browser):
    from selenium.webdriver.common.action_chains import ActionChains

    page = runs / "vae" / "explore.html"
    open_page(browser, page)
    assert requests_made(browser, page) == [page.as_uri()]  # the page itself, nothing else
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    before, z_before = digit_image(browser), browser.find_element("id", "z-value").text
    plane = browser.find_element("id", "plane")
    ActionChains(browser).move_to_element_with_offset(plane, 150, -120).perform()
    assert digit_image(browser) != before and browser.find_element("id", "z-value").text != z_before
    z = [1.5, -0.5]  # the hook decodes as the Python model does
    model = tinyvae.load(runs / "vae")
    got = np.array(browser.execute_script("return window.tinyvae.decode(arguments[0])", z))
    np.testing.assert_allclose(got, model.decode(np.array([z], np.float32))[0], rtol=0, atol=1e-5)
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
    assert requests_made(browser, page) == []


def test_browser_cvae_digit_selector_and_ae_note(runs, browser):
    open_page(browser, runs / "cvae" / "explore.html")
    before = digit_image(browser)
    browser.find_element("id", "digit-7").click()
    assert digit_image(browser) != before
    assert browser.find_element("id", "digit-7").get_attribute("aria-checked") == "true"
    open_page(browser, runs / "ae" / "explore.html")
    assert "never been trained" in browser.find_element("id", "note").text
    open_page(browser, runs / "vae3" / "explore.html")
    assert len(browser.find_elements("css selector", "#sliders input[type=range]")) == 3
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


def canvas_pixel(driver, canvas_id: str, x: float, y: float) -> list[int]:
    """The RGBA of a canvas at the window point (x, y) (CSS pixels)."""
    return driver.execute_script(
        "var c = document.getElementById(arguments[0]), r = c.getBoundingClientRect();"
        "var px = Math.floor((arguments[1] - r.left) * c.width / r.width);"
        "var py = Math.floor((arguments[2] - r.top) * c.height / r.height);"
        "return Array.from(c.getContext('2d').getImageData(px, py, 1, 1).data);", canvas_id, x, y)


def test_browser_keys_and_interpolation(runs, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    open_page(browser, runs / "vae" / "explore.html")
    plane, z_text = browser.find_element("id", "plane"), lambda: browser.find_element("id", "z-value").text
    hint = lambda: browser.find_element("id", "plane-hint").text  # noqa: E731
    assert z_text() == "( 0.00,  0.00)" and "Click a point" in hint()
    plane.send_keys(Keys.ARROW_RIGHT, Keys.ARROW_UP)
    assert z_text() != "( 0.00,  0.00)"
    strip = browser.execute_script("return document.getElementById('strip').toDataURL()")
    plane.send_keys(Keys.ENTER)  # the first point, by key: the page says what to do next
    assert "Now click the end point B" in hint()
    ActionChains(browser).move_to_element_with_offset(plane, -100, 80).click().perform()  # the second point
    WebDriverWait(browser, 10).until(lambda d: d.execute_script("return document.getElementById('strip').toDataURL()") != strip)
    assert "10 equal steps" in browser.find_element("id", "strip-caption").text and "path from A to B" in hint()
    # the path and its ends are drawn on the plane: A's marker (blue), a step of the path (dark)
    ends = [[float(v) for v in re.findall(r"-?\d+\.\d+", part)]
            for part in browser.find_element("id", "strip-caption").text.split(" to ")]
    fmt = lambda v: f"{v:.2f}" if v < 0 else f" {v:.2f}"  # noqa: E731
    B = f"({fmt(ends[1][0])}, {fmt(ends[1][1])})"
    WebDriverWait(browser, 10).until(lambda d: z_text() == B)  # the walk has ended at B
    a, b = browser.execute_script("return [window.tinyvae.screenXY(arguments[0], arguments[1]),"
                                  " window.tinyvae.screenXY(arguments[2], arguments[3])]", *ends[0][:2], *ends[1][:2])
    assert canvas_pixel(browser, "plane", a[0], a[1] + 6.5)[:3] == [0x2b, 0x6c, 0xb0]
    t = 4 / 9
    step = canvas_pixel(browser, "plane", (1 - t) * a[0] + t * b[0], (1 - t) * a[1] + t * b[1])
    assert step[:3] == [0x22, 0x22, 0x22]
    width = browser.execute_script("return document.getElementById('strip').getBoundingClientRect().width")
    assert width / 10 >= 48  # each step of the strip at least 48 CSS pixels wide
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


@pytest.mark.parametrize("name", ["vae", "cvae"])
def test_browser_a_test_dot_shows_its_image_and_reconstruction(runs, browser, name):
    model, state, _ = tinyvae.training.runs.load_with_state(runs / name)
    test = tinyvae.training.runs.run_data(state, model)
    open_page(browser, runs / name / "explore.html")
    k = 8  # a 5: not the CVAE's first label, so a wrong label shows
    x, y = browser.execute_script("var p = window.tinyvae.dot(arguments[0]);"
                                  "return window.tinyvae.screenXY(p[0], p[1])", k)
    browser.execute_cdp_cmd("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y})
    assert browser.find_element("id", "test-caption").text.startswith(f"Test image {k + 1}, a {test.y_test[k]}:")
    shown = lambda cid: np.array(browser.execute_script(  # noqa: E731
        "return Array.from(document.getElementById(arguments[0]).getContext('2d').getImageData(0, 0, 28, 28).data)",
        cid)).reshape(784, 4)[:, 0]
    np.testing.assert_array_equal(shown("test-image"), np.round(test.x_test[k] * 255))  # the image itself
    recon = model.reconstruct(test.x_test[k:k + 1], model.labels_for(test.y_test[k:k + 1]))[0]  # its own label
    assert np.abs(shown("test-recon") - np.round(recon * 255)).max() <= 1  # its reconstruction


@pytest.mark.parametrize("name", ["vae", "cvae", "conv"])
def test_browser_drawing_lands_where_the_encoder_puts_it(runs, browser, name):
    from selenium.webdriver.common.action_chains import ActionChains

    model = tinyvae.load(runs / name)
    open_page(browser, runs / name / "explore.html")
    assert browser.execute_script("return window.tinyvae.drawnInput()") is None
    plane_before = browser.execute_script("return document.getElementById('plane').toDataURL()")
    draw = browser.find_element("id", "draw")
    ActionChains(browser).move_to_element_with_offset(draw, -30, -40).click_and_hold().move_by_offset(40, 10) \
        .move_by_offset(-20, 60).move_by_offset(30, 0).release().perform()
    x = np.array(browser.execute_script("return window.tinyvae.drawnInput()"))
    assert x.shape == (784,) and 0 <= x.min() and x.max() <= 1 and (x > 0.5).sum() > 20
    digit = 0 if model.conditional else None  # a model with labels reads the drawing as the selected digit
    labels = model.labels_for(np.array([0]))
    mean = model.embed(x[None].astype(np.float32), labels)[0]  # the posterior mean (an AE: its code)
    np.testing.assert_allclose(browser.execute_script("return window.tinyvae.encode(arguments[0], arguments[1])",
                                                      x.tolist(), digit), mean, rtol=0, atol=1e-4)
    caption = browser.find_element("id", "draw-caption").text
    assert "(" + ", ".join(f"{v:.2f}" for v in mean) + ")" in caption.replace("( ", "(").replace(",  ", ", ")
    assert ("ellipse of q(z|x)" in caption) == model.has_posterior
    assert browser.execute_script("return document.getElementById('plane').toDataURL()") != plane_before
    if model.conditional:  # another digit selected: the same drawing read again as that digit
        browser.find_element("id", "digit-3").click()
        mean = model.encode(x[None].astype(np.float32), np.array([3]))[0][0]
        caption = browser.find_element("id", "draw-caption").text.replace("( ", "(").replace(",  ", ", ")
        assert "(" + ", ".join(f"{v:.2f}" for v in mean) + ")" in caption and "encoded as a 3" in caption
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


def test_browser_drawing_is_read_as_mnist_digits_were_made(runs, browser):
    """The strokes are fitted into a 20 × 20 box and centred by their mass in 28 × 28, as MNIST's digits."""
    from selenium.webdriver.common.action_chains import ActionChains

    open_page(browser, runs / "vae" / "explore.html")
    draw = browser.find_element("id", "draw")  # a small stroke off to one side
    ActionChains(browser).move_to_element_with_offset(draw, -60, -60).click_and_hold().move_by_offset(15, 25) \
        .release().perform()
    x = np.array(browser.execute_script("return window.tinyvae.drawnInput()")).reshape(28, 28)
    rows, cols = np.nonzero(x > 0.1)
    assert 18 <= max(rows.max() - rows.min(), cols.max() - cols.min()) + 1 <= 21
    centre = [(x.sum(axis=1) * np.arange(28)).sum() / x.sum(), (x.sum(axis=0) * np.arange(28)).sum() / x.sum()]
    np.testing.assert_allclose(centre, [13.5, 13.5], atol=0.75)


def test_browser_encode_and_decode_of_a_conv_run(runs, browser):
    model, state, _ = tinyvae.training.runs.load_with_state(runs / "conv")
    test = tinyvae.training.runs.run_data(state, model)
    open_page(browser, runs / "conv" / "explore.html")
    mu, logvar = model.encode(test.x_test[:2])
    for i in range(2):
        got = browser.execute_script("return window.tinyvae.posterior(arguments[0])", test.x_test[i].tolist())
        np.testing.assert_allclose(got["mean"], mu[i], rtol=0, atol=1e-4)
        np.testing.assert_allclose(got["logvar"], logvar[i], rtol=0, atol=1e-4)
    z = [0.7, -1.2]
    got = np.array(browser.execute_script("return window.tinyvae.decode(arguments[0])", z))
    np.testing.assert_allclose(got, model.decode(np.array([z], np.float32))[0], rtol=0, atol=1e-5)
    assert "convolutional VAE" in browser.find_element("id", "subtitle").text


def test_browser_two_dimensions_show_the_plane_once(runs, browser):
    open_page(browser, runs / "vae" / "explore.html")
    assert not browser.find_element("id", "slider-panel").is_displayed()
    open_page(browser, runs / "vae3" / "explore.html")
    assert browser.find_element("id", "slider-panel").is_displayed()


@pytest.mark.parametrize("name", ["vae", "cvae"])
def test_browser_phone_keeps_the_digit_on_screen_under_a_finger(runs, browser, name):
    """At 390×844 (a phone, touch), a finger on the plane, with the page scrolled to the plane: the
    decoded digit changes, its whole box is inside the viewport, and nothing covers the plane under the
    finger (with a model's digit buttons too)."""
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": 390, "height": 844,
                                                                  "deviceScaleFactor": 3, "mobile": True})
    browser.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 1})
    try:
        open_page(browser, runs / name / "explore.html")
        assert browser.execute_script("return [window.innerWidth, window.innerHeight]") == [390, 844]
        browser.execute_script("window.scrollTo(0, document.getElementById('plane').getBoundingClientRect().top"
                               " + window.scrollY - 150)")
        before = digit_image(browser)
        plane = browser.execute_script("var r = document.getElementById('plane').getBoundingClientRect();"
                                       "return [r.left, r.top, r.width, r.height];")
        assert plane[1] + plane[3] <= 844  # the plane is on screen
        for i, (u, v) in enumerate([(0.5, 0.5), (0.6, 0.7), (0.75, 0.8), (0.3, 0.15)]):
            x, y = plane[0] + u * plane[2], plane[1] + v * plane[3]
            under = browser.execute_script("return document.elementFromPoint(arguments[0], arguments[1]).id", x, y)
            assert under == "plane"  # the finger is on the plane, not on the readout held above it
            browser.execute_cdp_cmd("Input.dispatchTouchEvent", {"type": "touchStart" if i == 0 else "touchMove",
                                    "touchPoints": [{"x": x, "y": y}]})
        assert digit_image(browser) != before
        box = browser.execute_script("var r = document.getElementById('digit').getBoundingClientRect();"
                                     "return [r.left, r.top, r.right, r.bottom];")
        assert box[0] >= 0 and box[1] >= 0 and box[2] <= 390 and box[3] <= 844, box
        browser.execute_cdp_cmd("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    finally:
        browser.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": False})
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_make_explore_png_draws_the_docs_picture(runs, browser, tmp_path):
    """docs/make_explore_png.py (which drew docs/explore.png) runs on a run: 1280 wide, and a phone's 390 at 2x
    (``browser`` only for its skip where Chromium is missing)."""
    import struct

    desk, phone = tmp_path / "desk.png", tmp_path / "phone.png"
    script = ROOT / "docs" / "make_explore_png.py"
    p = subprocess.run([sys.executable, str(script), str(runs / "vae"), "--out", str(desk), "--phone", str(phone)],
                       capture_output=True, text=True, cwd=ROOT,
                       env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert p.returncode == 0, p.stderr
    for path, width in ((desk, 1280), (phone, 780)):
        head = path.read_bytes()[:24]
        assert head[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">I", head[16:20])[0] == width


def test_browser_network_check_sees_a_request_when_there_is_one(runs, browser, tmp_path):
    """The checks above can fail: the same page with one outside image shows the request and the block."""
    bad = tmp_path / "bad.html"
    bad.write_text((runs / "vae" / "explore.html").read_text().replace("<body>", '<body><img src="http://127.0.0.1:9/x.png">'))
    open_page(browser, bad)
    assert requests_made(browser, bad) == [bad.as_uri(), "http://127.0.0.1:9/x.png"]
    assert any("Content Security Policy" in e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE")


def test_page_files_ship_as_package_data():
    import fnmatch
    import tomllib

    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["tinyvae.explore"]
    assets = [p.name for p in (ROOT / "tinyvae" / "explore").iterdir() if p.suffix != ".py" and p.is_file()]
    assert sorted(assets) == ["explore.css", "explore.js", "network.js", "page.html"]
    assert all(any(fnmatch.fnmatch(name, pat) for pat in patterns) for name in assets)
