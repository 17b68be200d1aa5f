// The study viewer: NiiVue (installed from npm into /static/vendor/) shows the CT with the
// calcium label map and the lesion outlines as overlays; window buttons, slice and zoom
// controls, and a lesion list that moves to each lesion's centroid plane.
const box = document.getElementById("viewer");
const statusEl = document.getElementById("viewer-status");
const sliceEl = document.getElementById("viewer-slice");

function say(text) { statusEl.textContent = text; }

// Label colours: lesion number -> one colour for every lesion (red calcium, yellow outline).
function labelMap(r, g, b, alpha) {
  const R = [0], G = [0], B = [0], A = [0], I = [0];
  for (let i = 1; i < 256; i++) { R.push(r); G.push(g); B.push(b); A.push(alpha); I.push(i); }
  return { R, G, B, A, I };
}

async function start() {
  let mod;
  try {
    mod = await import(box.dataset.module);
  } catch (err) {
    say("The image viewer could not be loaded from this server (" + box.dataset.module + " is missing; `make install` fetches it with npm). The lesions are listed here and their key images are on the scan page.");
    box.dataset.ready = "missing";
    return;
  }
  const canvas = document.getElementById("viewer-canvas");
  const nv = new mod.Niivue({
    backColor: [0, 0, 0, 1], show3Dcrosshair: false, isColorbar: false, crosshairWidth: 0,
    dragAndDropEnabled: false, isOrientCube: false, isRadiologicalConvention: true,
  });
  try {
    await nv.attachToCanvas(canvas);
  } catch (err) {
    say("This browser cannot show the viewer (WebGL 2 is needed). The lesions are listed here and their key images are on the scan page.");
    box.dataset.ready = "no-webgl";
    return;
  }
  nv.addColormap("hepcal-calcium", labelMap(255, 40, 40, 255));
  nv.addColormap("hepcal-outline", labelMap(255, 230, 0, 255));
  const first = box.querySelector("button.window");
  const w0 = Number(first.dataset.width), l0 = Number(first.dataset.level);
  const base = box.dataset.base;
  try {
    await nv.loadVolumes([
      { url: base + "ct.nii.gz", colormap: "gray", cal_min: l0 - w0 / 2, cal_max: l0 + w0 / 2, trustCalMinMax: true },
      { url: base + "calcium.nii.gz", colormap: "hepcal-calcium", cal_min: 0.5, cal_max: 1, opacity: 0.55, trustCalMinMax: true },
      { url: base + "outline.nii.gz", colormap: "hepcal-outline", cal_min: 0.5, cal_max: 1, opacity: 1, trustCalMinMax: true },
    ]);
  } catch (err) {
    say("The study could not be loaded: " + err);
    box.dataset.ready = "failed";
    return;
  }
  nv.setSliceType(nv.sliceTypeAxial);
  nv.setInterpolation(true);
  const planes = Number(box.dataset.planes);

  function showPlane() {
    const vox = nv.frac2vox(nv.scene.crosshairPos);
    const k = Math.round(vox[2]);
    box.dataset.plane = String(k);
    sliceEl.textContent = "Axial plane " + (k + 1) + " of " + planes;
  }
  nv.onLocationChange = showPlane;

  function setWindow(button) {
    const w = Number(button.dataset.width), l = Number(button.dataset.level);
    const ct = nv.volumes[0];
    ct.cal_min = l - w / 2;
    ct.cal_max = l + w / 2;
    nv.updateGLVolume();
    box.querySelectorAll("button.window").forEach((b) => {
      b.classList.toggle("active", b === button);
      b.setAttribute("aria-pressed", b === button ? "true" : "false");
    });
    box.dataset.window = button.textContent.trim().split(" ")[0];
  }
  box.querySelectorAll("button.window").forEach((b) => b.addEventListener("click", () => setWindow(b)));

  box.querySelectorAll("button[data-step]").forEach((b) => b.addEventListener("click", () => {
    nv.moveCrosshairInVox(0, 0, Number(b.dataset.step));
    showPlane();
  }));

  box.querySelectorAll("button[data-zoom]").forEach((b) => b.addEventListener("click", () => {
    const factor = Number(b.dataset.zoom);
    const p = nv.scene.pan2Dxyzmm;
    const zoom = factor === 0 ? 1 : Math.min(8, Math.max(0.5, p[3] * factor));
    nv.setPan2Dxyzmm(factor === 0 ? [0, 0, 0, 1] : [p[0], p[1], p[2], zoom]);
    box.dataset.zoom = String(zoom);
  }));

  const toggle = document.getElementById("overlay-toggle");
  toggle.addEventListener("click", () => {
    const on = toggle.getAttribute("aria-pressed") !== "true";
    toggle.setAttribute("aria-pressed", on ? "true" : "false");
    nv.setOpacity(1, on ? 0.55 : 0);
    nv.setOpacity(2, on ? 1 : 0);
  });

  function jump(button) {
    const vox = button.dataset.vox.split(",").map(Number).map(Math.round);
    nv.scene.crosshairPos = nv.vox2frac(vox);
    nv.drawScene();
    showPlane();
    box.querySelectorAll("button.lesion-jump").forEach((b) => b.classList.toggle("active", b === button));
  }
  const lesions = box.querySelectorAll("button.lesion-jump");
  lesions.forEach((b) => b.addEventListener("click", () => jump(b)));
  if (lesions.length) jump(lesions[0]); else showPlane();
  say("");
  statusEl.hidden = true;
  box.dataset.ready = "yes";
}

if (box) start();
