/**
 * The maintenance screen the main process shows when the renderer cannot be trusted (crash
 * loop, GPU lost): a static page with no script, as a data: URL, so it needs neither the
 * renderer bundle nor any file on disk. It shows the same icon idea and code format as the
 * renderer's maintenance view, so a technician reads the same thing either way.
 */
const CODE = /^[A-Z]{2,5}-[0-9]{1,3}$/;

export function maintenancePageHtml(code: string): string {
  const shown = CODE.test(code) ? code : 'HST-1';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>Maintenance ${shown}</title>
<style>
html,body{margin:0;height:100%;background:#202124;color:#f1f3f4;cursor:none;font-family:sans-serif}
main{height:100%;display:flex;flex-direction:column;align-items:center;justify-content:center;gap:4vmin}
svg{width:30vmin;height:30vmin}
p{margin:0;font-size:8vmin;letter-spacing:.1em}
</style></head>
<body><main role="alert" aria-label="Maintenance ${shown}">
<svg viewBox="0 0 24 24" aria-hidden="true"><path fill="#f1f3f4" d="M22.7 19l-9.1-9.1c.9-2.3.4-5-1.5-6.9-2-2-5-2.4-7.4-1.3L9 6 6 9 1.6 4.7C.4 7.1.9 10.1 2.9 12.1c1.9 1.9 4.6 2.4 6.9 1.5l9.1 9.1c.4.4 1 .4 1.4 0l2.3-2.3c.5-.4.5-1.1.1-1.4z"/></svg>
<p data-code="${shown}">${shown}</p>
</main></body></html>`;
}

export function maintenancePageUrl(code: string): string {
  return `data:text/html;charset=utf-8;base64,${Buffer.from(maintenancePageHtml(code), 'utf8').toString('base64')}`;
}
