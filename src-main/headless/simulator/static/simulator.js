// The developer simulator's control page (shared by the browser simulator and the Electron
// simulator's control window). Plain browser JS, no build step; the server validates every
// action (SimulatorAction in contract/src/internal/simulator.ts).
const API = '/simulator/api';
const showPreview = new URLSearchParams(location.search).get('preview') !== 'off';
const $ = (id) => document.getElementById(id);
let state = null;
let built = false;

async function act(body) {
  try {
    const res = await fetch(`${API}/action`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const answer = await res.json();
    if (answer.state) render(answer.state);
    else $('error').textContent = answer.error ?? `HTTP ${res.status}`;
  } catch (err) {
    $('error').textContent = `simulator unreachable: ${err}`;
  }
}

function button(label, testId, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  b.dataset.testid = testId;
  b.addEventListener('click', onClick);
  return b;
}

function buildOnce(s) {
  if (built) return;
  built = true;
  for (const p of s.presets) {
    $('presets').append(button(p.label, `preset-${p.label.toLowerCase()}`, () => act({ action: 'set-reading', values: p.values })));
  }
  if (s.ownSensor) {
    $('own-sensor').hidden = false;
    for (const p of s.presets) {
      $('own-presets').append(
        button(p.label, `own-preset-${p.label.toLowerCase()}`, () => act({ action: 'set-own-sensor', values: p.values })),
      );
    }
    $('own-presets').append(button('Silent', 'own-preset-silent', () => act({ action: 'set-own-sensor', values: null })));
  }
  for (const kind of s.commands) {
    const o = document.createElement('option');
    o.value = kind;
    o.textContent = kind;
    $('command-kind').append(o);
  }
  for (const size of s.sizes) {
    const b = button(size.label, `size-${size.id}`, () => act({ action: 'set-size', size: size.id }));
    b.setAttribute('role', 'radio');
    b.dataset.size = size.id;
    $('sizes').append(b);
  }
  if (showPreview && s.panelUrl) {
    $('preview-area').hidden = false;
    $('panel').src = s.panelUrl;
    window.addEventListener('resize', () => state && fitPreview(state));
  } else {
    document.body.classList.add('no-preview');
  }
}

function fitPreview(s) {
  const size = s.sizes.find((z) => z.id === s.size);
  if (!size) return;
  const frame = $('panel');
  frame.width = String(size.width);
  frame.height = String(size.height);
  const area = $('preview-area');
  const scale = Math.min(1, (area.clientWidth - 8) / size.width, (window.innerHeight - 80) / size.height);
  frame.style.transform = `scale(${scale})`;
  const box = $('preview-frame');
  box.style.width = `${Math.round(size.width * scale)}px`;
  box.style.height = `${Math.round(size.height * scale)}px`;
  $('preview-caption').textContent = `${size.label} at ${Math.round(scale * 100)} %`;
}

function switchText(v, name) {
  return v === 'unavailable' ? `${name}: not controllable here` : v;
}

function render(s) {
  state = s;
  buildOnce(s);
  $('panel-id').textContent = s.panelId;
  $('network-state').textContent = switchText(s.network, 'network');
  $('backend-state').textContent = switchText(s.backend, 'backend');
  $('last-reading').textContent = s.lastReading
    ? `${Object.entries(s.lastReading.values)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')} at ${new Date(s.lastReading.at).toLocaleTimeString()}`
    : 'none';
  if (s.ownSensor) {
    $('own-sensor-state').textContent = s.ownSensor.values
      ? Object.entries(s.ownSensor.values)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')
      : 'silent';
  }
  $('last-command').textContent = s.lastCommand
    ? `${s.lastCommand.kind}: ${s.lastCommand.ack ? `${s.lastCommand.ack.status}${s.lastCommand.ack.detail ? ` (${s.lastCommand.ack.detail})` : ''}` : 'sent, no answer yet'}`
    : 'none';
  $('error').textContent = s.lastError ?? '';
  const net = $('network-toggle');
  net.disabled = s.network === 'unavailable';
  net.textContent = s.network === 'down' ? 'Restore network' : 'Cut network';
  const be = $('backend-toggle');
  be.disabled = s.backend === 'unavailable';
  be.textContent = s.backend === 'down' ? 'Start backend' : 'Stop backend';
  for (const b of $('sizes').children) b.setAttribute('aria-pressed', String(b.dataset.size === s.size));
  if (showPreview && s.panelUrl) fitPreview(s);
}

$('network-toggle').addEventListener('click', () => act({ action: 'set-network', up: state?.network === 'down' }));
$('backend-toggle').addEventListener('click', () => act({ action: 'set-backend', up: state?.backend === 'down' }));
$('reading-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const values = {};
  for (const [k, v] of new FormData(e.target)) if (v !== '') values[k] = Number(v);
  if (Object.keys(values).length === 0) {
    $('error').textContent = 'enter at least one value';
    return;
  }
  act({ action: 'set-reading', values });
});
$('command-form').addEventListener('submit', (e) => {
  e.preventDefault();
  act({ action: 'send-command', kind: $('command-kind').value });
});

// Live state: the other window (Electron) or another tab may change it too.
const events = new EventSource(`${API}/events`);
events.onmessage = (e) => render(JSON.parse(e.data));
events.onerror = () => {
  $('error').textContent = 'lost the simulator; retrying…';
};
