namespace HashBackdoor.Experiments;

/// <summary>
/// The page of <c>hashbd serve</c>: one HTML document and one script, no other resources. The script reads
/// <c>api/run</c> once (<see cref="RunBrowser.Summary"/>), then asks <c>api/search</c> (<see cref="RunBrowser.Search"/>)
/// whenever a control changes, and shows the run's report.html (<c>report</c>) in a frame below.
/// </summary>
/// <remarks>
/// Controls: seed, target class, model (clean or a victim; models the run has not written are disabled), "paste the
/// trigger", query index with previous/next (optionally skipping queries of the target class) and k. The state is
/// mirrored in the address (<c>?seed=0&amp;target=0&amp;model=ciba&amp;query=3&amp;trigger=1&amp;k=10</c>), so a view can be
/// linked or reopened. For scripted checks the body carries <c>data-state</c> (loading, ready, error) and
/// <c>data-view</c> (the request of the view shown), and each result item <c>data-index</c>, <c>data-distance</c> and
/// <c>data-target</c>. All text from the server is inserted as text, never as markup.
/// </remarks>
public static class RunBrowserPage
{
    /// <summary>The HTML document served at <c>/</c>.</summary>
    public const string Html = """
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>hashbd serve</title>
<style>
body { font-family: system-ui, sans-serif; margin: 0; color: #1b1b1b; background: #fafafa; }
header { padding: 12px 20px; background: #22313f; color: #fff; }
header h1 { font-size: 20px; margin: 0 0 4px 0; }
header p { margin: 0; font-size: 13px; color: #cfd8e0; }
main { padding: 12px 20px; }
.controls { display: flex; flex-wrap: wrap; gap: 14px; align-items: end; padding: 10px 12px; background: #fff; border: 1px solid #ddd; border-radius: 6px; }
.controls label { display: flex; flex-direction: column; font-size: 12px; color: #555; gap: 3px; }
.controls label.inline { flex-direction: row; align-items: center; gap: 6px; font-size: 14px; color: #1b1b1b; }
select, input[type=number] { font-size: 14px; padding: 3px 4px; }
input[type=number] { width: 6em; }
button { font-size: 14px; padding: 3px 9px; }
#status { margin: 8px 0; min-height: 1.3em; font-size: 13px; color: #555; }
#status.error { color: #b00020; font-weight: 600; }
#metrics { font-size: 13px; color: #333; margin: 4px 0 10px 0; }
.view { display: flex; gap: 22px; align-items: flex-start; }
.query { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 10px; text-align: center; font-size: 13px; }
.query img { display: block; margin: 0 auto 6px auto; image-rendering: pixelated; }
ol#results { list-style: none; display: flex; flex-wrap: wrap; gap: 10px; padding: 0; margin: 0; }
ol#results li { background: #fff; border: 3px solid #ddd; border-radius: 4px; padding: 4px; text-align: center; font-size: 12px; width: 96px; }
ol#results li.target { border-color: #d62728; }
ol#results img { display: block; margin: 0 auto 3px auto; image-rendering: pixelated; }
.legend { font-size: 12px; color: #555; margin: 6px 0 0 0; }
.legend span { border: 3px solid #d62728; padding: 0 4px; }
h2 { font-size: 17px; margin: 22px 0 8px 0; }
iframe#report { width: 100%; height: 1400px; border: 1px solid #ddd; background: #fff; }
</style>
</head>
<body data-state="loading" data-view="">
<header>
<h1 id="title">hashbd serve</h1>
<p id="subtitle">loading the run...</p>
</header>
<main>
<div class="controls">
<label>seed <select id="seed"></select></label>
<label>target class <select id="target"></select></label>
<label>model <select id="model"></select></label>
<label class="inline"><input type="checkbox" id="trigger"> paste the trigger</label>
<label>query <span><button id="prev" title="previous query">&#9664;</button> <input type="number" id="query" min="0" value="0"> <button id="next" title="next query">&#9654;</button></span></label>
<label class="inline"><input type="checkbox" id="nontarget" checked> skip target-class queries</label>
<label>top k <select id="k"><option>10</option><option selected>20</option><option>50</option><option>100</option></select></label>
</div>
<div id="status"></div>
<div id="metrics"></div>
<div class="view">
<div class="query"><img id="queryImage" alt="query image"><div id="queryCaption"></div></div>
<div>
<ol id="results"></ol>
<p class="legend"><span>red frame</span> = the retrieved image carries the target label; d = Hamming distance to the query's code (ties shown in database order; the figures are tie-aware).</p>
</div>
</div>
<h2>Report of the run (report.html)</h2>
<div id="reportNote"></div>
<iframe id="report" title="report.html of the run" hidden></iframe>
</main>
<script src="app.js"></script>
</body>
</html>
""";

    /// <summary>The script served at <c>/app.js</c>.</summary>
    public const string Script = """
'use strict';
const $ = id => document.getElementById(id);
let run = null;
let sequence = 0;

async function getJson(url) {
  const response = await fetch(url);
  let body = null;
  try { body = await response.json(); } catch (e) { body = null; }
  if (!response.ok) throw new Error(body && body.error ? body.error : response.status + ' ' + response.statusText);
  return body;
}

function option(select, value, text) {
  const o = document.createElement('option');
  o.value = String(value);
  o.textContent = text;
  select.appendChild(o);
  return o;
}

function className(c) { return run.classNames[c] !== undefined ? run.classNames[c] : String(c); }
function labelText(labels) { return labels.length ? labels.map(className).join(', ') : '(no label)'; }
function seed() { return $('seed').value; }
function target() { return Number($('target').value); }
function isTargetQuery(q) { return run.queryLabels[q].includes(target()); }

function setStatus(text, isError) {
  $('status').textContent = text;
  $('status').className = isError ? 'error' : '';
}

function updateAvailability() {
  for (const o of $('model').options) {
    o.disabled = !run.available.includes(seed() + '/' + target() + '/' + o.value);
  }
  if ($('model').selectedOptions.length && $('model').selectedOptions[0].disabled) {
    const first = Array.from($('model').options).find(o => !o.disabled);
    if (first) $('model').value = first.value;
  }
  const hasTrigger = run.triggers.includes(seed() + '/' + target());
  $('trigger').disabled = !hasTrigger;
  if (!hasTrigger) $('trigger').checked = false;
}

function showMetrics() {
  const model = $('model').value;
  const row = run.runs.find(r => String(r.seed) === seed() && r.target === target() && r.method === model);
  $('metrics').textContent = row
    ? 'results.json for this model (tie-aware): mAP ' + row.mAP.toFixed(2) + '%, t-MAP ' + row.tMAP.toFixed(2) + '% (' + (+row.tMAPQueriesCounted.toFixed(1)) + ' of ' + row.tMAPQueriesTotal + ' triggered queries counted, in expectation)' +
      (row.databaseOrder ? '; ties in database order: t-MAP ' + row.databaseOrder.tMAP.toFixed(2) + '%' : '')
    : '';
}

function step(delta) {
  const n = run.queryLabels.length;
  let q = Number($('query').value);
  if (!Number.isInteger(q)) q = 0;
  for (let tries = 0; tries < n; tries++) {
    q = (q + delta + n) % n;
    if (!$('nontarget').checked || !isTargetQuery(q)) break;
  }
  $('query').value = String(q);
  refresh();
}

function render(view) {
  $('queryImage').src = view.queryImage;
  $('queryCaption').textContent = 'query #' + view.query + ': ' + labelText(view.queryLabels) + (view.triggered ? ' + trigger' : '');
  const list = $('results');
  list.replaceChildren();
  for (const item of view.results) {
    const li = document.createElement('li');
    li.dataset.index = String(item.index);
    li.dataset.distance = String(item.distance);
    li.dataset.target = item.isTarget ? '1' : '0';
    if (item.isTarget) li.className = 'target';
    const img = document.createElement('img');
    img.src = item.image;
    img.alt = 'database image ' + item.index;
    const caption = document.createElement('div');
    caption.textContent = '#' + item.rank + ' ' + labelText(item.labels) + ' d=' + item.distance;
    li.append(img, caption);
    list.appendChild(li);
  }
  const name = view.model === 'clean' ? 'clean model' : view.model + ' victim';
  setStatus(name + ', query ' + (view.triggered ? 'with' : 'without') + ' the trigger: ' + view.targetCount + ' of ' + view.results.length +
    ' results carry the target label (' + className(view.target) + ')' +
    (view.tiedAtCut > view.tiedShown
      ? '; the cut falls in a tie: ' + view.tiedAtCut + ' images share the last distance, ' + view.tiedShown +
        ' shown (database order); tie-aware expected target count ' + view.expectedTargetCount.toFixed(2) + '.'
      : '.'), false);
}

async function refresh() {
  const mine = ++sequence;
  updateAvailability();
  showMetrics();
  const params = new URLSearchParams({
    seed: seed(), target: String(target()), model: $('model').value, query: $('query').value,
    trigger: $('trigger').checked ? '1' : '0', k: $('k').value,
  });
  history.replaceState(null, '', '?' + params.toString());
  document.body.dataset.state = 'loading';
  setStatus('searching... (the first search with a model also encodes the database)', false);
  try {
    const view = await getJson('api/search?' + params.toString());
    if (mine !== sequence) return;
    render(view);
    document.body.dataset.view = params.toString();
    document.body.dataset.state = 'ready';
  } catch (e) {
    if (mine !== sequence) return;
    $('results').replaceChildren();
    setStatus(e.message, true);
    document.body.dataset.view = params.toString();
    document.body.dataset.state = 'error';
  }
}

async function init() {
  try {
    run = await getJson('api/run');
  } catch (e) {
    setStatus('cannot read the run: ' + e.message, true);
    document.body.dataset.state = 'error';
    return;
  }
  document.title = run.title + ' - hashbd serve';
  $('title').textContent = run.title;
  $('subtitle').textContent = 'protocol ' + run.protocol + ', ' + run.queryLabels.length + ' queries, database of ' + run.databaseCount +
    ', ' + run.bits + ' bits; hashbd ' + run.toolkitVersion;
  for (const s of run.seeds) option($('seed'), s, String(s));
  for (const t of run.targets) option($('target'), t, t + ' (' + className(t) + ')');
  for (const m of run.models) option($('model'), m, m === 'clean' ? 'clean' : m + ' (victim)');
  $('query').max = String(run.queryLabels.length - 1);

  const p = new URLSearchParams(location.search);
  const pick = (id, value) => { if (value !== null && Array.from($(id).options).some(o => o.value === value)) $(id).value = value; };
  pick('seed', p.get('seed'));
  pick('target', p.get('target'));
  const attack = run.models.find(m => m !== 'clean' && run.available.includes(seed() + '/' + target() + '/' + m));
  $('model').value = attack || 'clean';
  pick('model', p.get('model'));
  pick('k', p.get('k'));
  $('trigger').checked = p.get('trigger') === '1';
  const q = Number(p.get('query'));
  if (p.get('query') !== null && Number.isInteger(q) && q >= 0 && q < run.queryLabels.length) {
    $('query').value = String(q);
  } else {
    const first = run.queryLabels.findIndex((_, i) => !isTargetQuery(i));
    $('query').value = String(Math.max(0, first));
  }

  for (const id of ['seed', 'target', 'model', 'trigger', 'query', 'k']) $(id).addEventListener('change', refresh);
  $('prev').addEventListener('click', () => step(-1));
  $('next').addEventListener('click', () => step(1));

  if (run.hasReport) {
    $('report').src = 'report';
    $('report').hidden = false;
  } else {
    $('reportNote').textContent = 'The run has no report.html yet.';
  }
  await refresh();
}

init();
""";
}
