/**
 * The demo's web page: it follows the demo job as the ReCodEx web app follows a submission.
 * It asks `/demo/job` which channel is playing, opens a WebSocket to the monitor, sends the
 * channel id, counts the `TASK` states into a stacked progress bar, and on `FINISHED` moves
 * on to the next job. Static text; every value from the network goes in via textContent.
 */
export const DEMO_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>recodex-monitor demo</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
  h1 { font-size: 1.3rem; }
  .bar { display: flex; height: 1.6rem; background: #e9ecef; border-radius: .3rem; overflow: hidden; }
  .bar div { transition: width .25s; color: #fff; font-size: .8rem; text-align: center; line-height: 1.6rem; white-space: nowrap; }
  .completed { background: #28a745; } .skipped { background: #ffc107; } .failed { background: #dc3545; }
  #state { margin: .6rem 0; } #log { font: 13px/1.5 ui-monospace, monospace; background: #f8f9fa; padding: .6rem; height: 18rem; overflow-y: auto; }
  .legend span { display: inline-block; width: .8rem; height: .8rem; margin: 0 .3rem 0 1rem; vertical-align: -.1rem; }
</style>
</head>
<body>
<h1>recodex-monitor demo: <span id="channel">waiting for a job</span></h1>
<div class="bar"><div id="completed" class="completed"></div><div id="skipped" class="skipped"></div><div id="failed" class="failed"></div></div>
<p class="legend"><span class="completed"></span>completed <span class="skipped"></span>skipped <span class="failed"></span>failed</p>
<p id="state">connecting&hellip;</p>
<div id="log"></div>
<script>
'use strict';
const $ = (id) => document.getElementById(id);
let lastChannel;

function log(text) {
  const line = document.createElement('div');
  line.textContent = new Date().toLocaleTimeString() + '  ' + text;
  $('log').prepend(line);
}

function draw(counts, expected) {
  for (const state of ['completed', 'skipped', 'failed']) {
    const percent = expected > 0 ? (100 * counts[state]) / expected : 0;
    $(state).style.width = percent + '%';
    $(state).textContent = counts[state] > 0 ? counts[state] : '';
  }
}

async function nextJob() {
  try {
    const job = await (await fetch('/demo/job', { cache: 'no-store' })).json();
    if (!job.channel || job.channel === lastChannel) return setTimeout(nextJob, 500);
    lastChannel = job.channel;
    follow(job);
  } catch (error) {
    $('state').textContent = 'the demo is not answering: ' + error.message;
    setTimeout(nextJob, 2000);
  }
}

function follow(job) {
  const counts = { completed: 0, skipped: 0, failed: 0 };
  let finished = false;
  $('channel').textContent = job.channel;
  $('log').replaceChildren();
  draw(counts, job.tasks);
  const ws = new WebSocket(job.websocketScheme + '://' + location.hostname + ':' + job.websocketPort + '/');
  ws.onopen = () => {
    ws.send(job.channel);
    $('state').textContent = 'subscribed';
  };
  ws.onmessage = (event) => {
    const message = JSON.parse(event.data);
    log(event.data);
    if (message.command === 'TASK') {
      const state = String(message.task_state).toLowerCase();
      if (state in counts) counts[state] += 1;
      draw(counts, job.tasks);
      const done = counts.completed + counts.skipped + counts.failed;
      $('state').textContent = done + ' of ' + job.tasks + ' tasks evaluated';
    } else if (message.command === 'FINISHED') {
      finished = true;
      $('state').textContent = 'finished: ' + counts.completed + ' completed, ' +
        counts.skipped + ' skipped, ' + counts.failed + ' failed';
      ws.close();
    }
  };
  ws.onerror = () => {
    $('state').textContent = 'WebSocket error: is the monitor running?';
  };
  ws.onclose = () => setTimeout(nextJob, finished ? 1500 : 3000);
}

nextJob();
</script>
</body>
</html>
`;
