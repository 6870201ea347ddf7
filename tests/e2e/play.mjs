// Plays the demo page in Debian's headless Chromium (no downloaded browser)
// and reports, as one JSON line, how far the video got and every request's status.
//   node tests/e2e/play.mjs URL SCREENSHOT [SECONDS]
import { launchChromium } from "./chromium.mjs";

const [url, screenshot, seconds = "3"] = process.argv.slice(2);
if (!url || !screenshot) {
  console.error("usage: node play.mjs URL SCREENSHOT [SECONDS]");
  process.exit(2);
}
const browser = await launchChromium();
let result;
try {
  const page = await browser.newPage();
  const console_lines = [];
  page.on("console", (message) => console_lines.push(`${message.type()}: ${message.text()}`));
  await page.goto(url);
  try {
    await page.waitForFunction(
      (target) => (window.demo?.currentTime ?? 0) >= target || window.demo?.state === "failed" || window.demo?.state === "refused",
      Number(seconds),
      { timeout: 45000, polling: 200 },
    );
  } catch (error) {
    console_lines.push(`timeout: ${error.message.split("\n")[0]}`);
  }
  await page.screenshot({ path: screenshot, fullPage: true });
  const demo = await page.evaluate(() => window.demo);
  result = { ...demo, console: console_lines };
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
