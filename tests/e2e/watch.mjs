// Watches a player page (the demo page with hls.js, or web/players.html with
// Shaka Player or video.js) in Debian's headless Chromium (no downloaded
// browser) and reports, as one JSON line: the player's state and position
// sampled every half second, and every request the page made as Chromium's
// network layer saw it (DevTools protocol), including any served from the
// browser's cache, which never reach the edge.
//   node tests/e2e/watch.mjs URL SCREENSHOT SECONDS live|vod
// live: watch SECONDS of wall time from the first advance of the position;
// vod: watch until the video ends. Then the page stops loading, and the
// report waits for requests in flight to settle.
import { launchChromium } from "./chromium.mjs";

const [url, screenshot, secondsArg, mode] = process.argv.slice(2);
const seconds = Number(secondsArg);
if (!url || !screenshot || !(seconds > 0) || !["live", "vod"].includes(mode)) {
  console.error("usage: node watch.mjs URL SCREENSHOT SECONDS live|vod");
  process.exit(2);
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Signatures stay out of the report; the policy (its expiry) and the
// delivery directives are what the tests look at.
const redact = (raw) => {
  const parsed = new URL(raw);
  for (const name of [...parsed.searchParams.keys()]) {
    if (name.startsWith("Signature")) parsed.searchParams.set(name, "-");
  }
  return parsed.toString();
};

const browser = await launchChromium();
const report = { samples: [], requests: [], console: [] };
try {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("console", (message) => report.console.push(`${message.type()}: ${message.text()}`));
  const network = await context.newCDPSession(page);
  const requests = new Map();
  const entry = (id) => requests.get(id) ?? {};
  network.on("Network.requestWillBeSent", (event) => {
    requests.set(event.requestId, {
      url: redact(event.request.url), sent_ms: Math.round(event.wallTime * 1000),
      from_cache: false, status: null, finished: false, failed: null,
    });
  });
  network.on("Network.requestServedFromCache", (event) => { entry(event.requestId).from_cache = true; });
  network.on("Network.responseReceived", (event) => {
    const request = entry(event.requestId);
    request.status = event.response.status;
    if (event.response.fromDiskCache || event.response.fromPrefetchCache) request.from_cache = true;
  });
  network.on("Network.loadingFinished", (event) => { entry(event.requestId).finished = true; });
  network.on("Network.loadingFailed", (event) => {
    entry(event.requestId).failed = event.canceled ? "canceled" : event.errorText;
  });
  await network.send("Network.enable");

  await page.goto(url);
  const deadline = Date.now() + (seconds + 45) * 1000;
  let advancing = null;
  while (Date.now() < deadline) {
    const demo = await page.evaluate(() => ({
      state: window.demo?.state, time: window.demo?.currentTime ?? 0, ended: Boolean(window.demo?.ended),
    }));
    report.samples.push({ at_ms: Date.now(), ...demo });
    if (demo.state === "failed" || demo.state === "refused") break;
    if (advancing === null && demo.time > 0) advancing = Date.now();
    if (mode === "vod" && demo.ended) break;
    if (mode === "live" && advancing !== null && Date.now() - advancing >= seconds * 1000) break;
    await sleep(500);
  }
  await page.screenshot({ path: screenshot });
  report.demo = await page.evaluate(() => {
    const { requests: _unused, stop: _stop, ...rest } = window.demo ?? {};
    return rest;
  });
  if (report.demo.url) report.demo.url = redact(report.demo.url);
  // Stop loading, then let what is in flight finish (or be cancelled), so
  // that the page's requests and the edge's log describe the same requests.
  await page.evaluate(() => window.demo?.stop?.());
  const settled = Date.now() + 10000;
  while (Date.now() < settled && [...requests.values()].some((r) => !r.finished && !r.failed)) await sleep(100);
  await sleep(300);
  report.requests = [...requests.values()];
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));
