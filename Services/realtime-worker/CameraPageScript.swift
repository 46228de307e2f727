/// The camera page's script (see `CameraPage`). `window.attache` holds the page's state for
/// tests and for anyone debugging the bot's browser: its status, how much of the agent it has
/// heard, how many things the agent has finished saying, and any error.
enum CameraPageScript {
    static let source = #"""
        "use strict";
        const RATE = 16000, W = 1280, H = 720;
        const params = new URLSearchParams(location.search);
        const token = params.get("token") || "";
        const meeting = location.pathname.split("/").filter(Boolean).pop();
        const state = window.attache = { status: "connecting", agentFrames: 0, said: 0, sentFrames: 0, errors: [] };
        const statusLine = document.getElementById("status");
        function status(text) { state.status = text; statusLine.textContent = text; }
        function failed(what, error) { state.errors.push(what + ": " + error); status(what); }

        // ---- the agent, drawn on a 1280×720 stage that fills the window whatever its shape
        const canvas = document.getElementById("stage"), g = canvas.getContext("2d");
        let scale = 1, offsetX = 0, offsetY = 0;
        function fit() {
          const ratio = window.devicePixelRatio || 1;
          canvas.width = Math.round(innerWidth * ratio); canvas.height = Math.round(innerHeight * ratio);
          scale = Math.min(canvas.width / W, canvas.height / H);
          offsetX = (canvas.width - W * scale) / 2; offsetY = (canvas.height - H * scale) / 2;
        }
        addEventListener("resize", fit); fit();

        // Mouth opening per viseme: [width, height, roundness 0..1, teeth visible]
        const mouths = {
          sil: [58, 3, 0, 0], PP: [54, 1, 0, 0], FF: [62, 7, 0, 1], TH: [62, 10, .2, 1], DD: [64, 14, .2, 1],
          kk: [64, 18, .3, 1], CH: [50, 20, .6, 1], SS: [68, 8, 0, 1], nn: [62, 12, .2, 1], RR: [48, 18, .7, 0],
          aa: [70, 40, .4, 1], E: [76, 26, .2, 1], I: [78, 16, .1, 1], O: [46, 36, 1, 0], U: [36, 28, 1, 0]
        };
        const current = { w: 58, h: 3, round: 0, teeth: 0 };
        let viseme = "sil", reaction = "neutral", reactionSince = 0;
        let blinkAt = performance.now() + 2500, blinkUntil = 0;
        let lastVoice = 0;   // when the agent's voice last played, for the speaking indicator

        function ease(from, to, k) { return from + (to - from) * k; }

        function drawBackground() {
          const sky = g.createLinearGradient(0, 0, 0, H);
          sky.addColorStop(0, "#2a3550"); sky.addColorStop(1, "#151b29");
          g.fillStyle = sky; g.fillRect(-W, -H, W * 3, H * 3);
          const glow = g.createRadialGradient(640, 300, 40, 640, 300, 520);
          glow.addColorStop(0, "rgba(120,150,210,0.28)"); glow.addColorStop(1, "rgba(120,150,210,0)");
          g.fillStyle = glow; g.fillRect(0, 0, W, H);
        }

        function drawBody(breath) {
          g.save(); g.translate(640, 720 + breath * 2);
          g.fillStyle = "#2f4a78";          // jacket
          g.beginPath(); g.moveTo(-300, 10); g.bezierCurveTo(-280, -150, -150, -175, -70, -190);
          g.lineTo(70, -190); g.bezierCurveTo(150, -175, 280, -150, 300, 10); g.closePath(); g.fill();
          g.fillStyle = "#e9edf3";          // shirt
          g.beginPath(); g.moveTo(-62, -190); g.lineTo(0, -80); g.lineTo(62, -190); g.closePath(); g.fill();
          g.fillStyle = "#d9a98a";          // neck
          g.beginPath(); g.moveTo(-42, -300); g.lineTo(-44, -184); g.quadraticCurveTo(0, -150, 44, -184); g.lineTo(42, -300); g.fill();
          g.restore();
        }

        function drawHead(now, t) {
          const rt = (now - reactionSince) / 1000;
          let pitch = Math.sin(t * 0.7) * 2, tilt = Math.sin(t * 0.43) * 0.02, browLift = 0, gazeX = Math.sin(t * 0.31) * 2, gazeY = 0, lean = 1;
          if (reaction === "nod" && rt < 1.4) pitch += Math.sin(rt * Math.PI * 2.6) * 12 * (1 - rt / 1.4);
          if (reaction === "interested") { tilt += 0.07; browLift = 6; lean = 1.03; }
          if (reaction === "thinking") { tilt -= 0.05; browLift = 3; gazeX = 6; gazeY = -6; }
          g.save(); g.translate(640, 300 + pitch); g.rotate(tilt); g.scale(lean, lean);

          g.fillStyle = "#c99476";           // ears
          g.beginPath(); g.ellipse(-128, 10, 18, 30, 0, 0, Math.PI * 2); g.ellipse(128, 10, 18, 30, 0, 0, Math.PI * 2); g.fill();
          const skin = g.createRadialGradient(-30, -40, 20, 0, 0, 190);
          skin.addColorStop(0, "#f1c7a6"); skin.addColorStop(1, "#d29d7e");
          g.fillStyle = skin;                // face: wider at the cheekbones, narrowing to the chin
          g.beginPath(); g.moveTo(0, -165);
          g.bezierCurveTo(95, -165, 135, -95, 132, -10); g.bezierCurveTo(130, 80, 85, 150, 0, 160);
          g.bezierCurveTo(-85, 150, -130, 80, -132, -10); g.bezierCurveTo(-135, -95, -95, -165, 0, -165); g.fill();
          g.fillStyle = "#3b2a22";           // hair
          g.beginPath(); g.moveTo(-138, -20); g.bezierCurveTo(-150, -150, -60, -200, 10, -192);
          g.bezierCurveTo(100, -190, 152, -130, 138, -20); g.bezierCurveTo(120, -95, 60, -120, -20, -118);
          g.bezierCurveTo(-80, -116, -120, -80, -138, -20); g.fill();

          const open = now < blinkUntil ? 0.08 : 1;
          for (const side of [-1, 1]) {
            const x = side * 52, y = -22;
            g.fillStyle = "#ffffff"; g.beginPath(); g.ellipse(x, y, 24, 14 * open, 0, 0, Math.PI * 2); g.fill();
            if (open > 0.5) {
              g.fillStyle = "#4b6a8c"; g.beginPath(); g.arc(x + gazeX, y + gazeY, 10, 0, Math.PI * 2); g.fill();
              g.fillStyle = "#10141c"; g.beginPath(); g.arc(x + gazeX, y + gazeY, 5, 0, Math.PI * 2); g.fill();
              g.fillStyle = "#ffffff"; g.beginPath(); g.arc(x + gazeX + 3, y + gazeY - 3, 2, 0, Math.PI * 2); g.fill();
            }
            g.strokeStyle = "#7a4f3c"; g.lineWidth = 3; g.beginPath(); g.ellipse(x, y, 25, 15 * open, 0, Math.PI, Math.PI * 2); g.stroke();
            g.strokeStyle = "#3b2a22"; g.lineWidth = 7; g.lineCap = "round";   // brows
            const lift = browLift * (reaction === "thinking" && side < 0 ? 1.6 : 1);
            g.beginPath(); g.moveTo(x - 24, y - 30 - lift); g.quadraticCurveTo(x, y - 40 - lift, x + 24, y - 31 - lift); g.stroke();
          }
          g.strokeStyle = "#b77e62"; g.lineWidth = 4;   // nose
          g.beginPath(); g.moveTo(-2, -8); g.quadraticCurveTo(-12, 36, -2, 44); g.quadraticCurveTo(6, 48, 14, 42); g.stroke();
          drawMouth();
          g.restore();
        }

        function drawMouth() {
          const [w, h, round, teeth] = mouths[viseme] || mouths.sil;
          current.w = ease(current.w, w, 0.35); current.h = ease(current.h, h, 0.35);
          current.round = ease(current.round, round, 0.35); current.teeth = ease(current.teeth, teeth, 0.35);
          const y = 92, half = current.w / 2, open = Math.max(current.h, 1.5);
          const smile = 6 * (1 - current.round);
          g.fillStyle = "#5a1f2a";
          g.beginPath(); g.moveTo(-half, y - smile / 2);
          g.bezierCurveTo(-half * (0.6 + current.round * 0.3), y - open / 2 - 2, half * (0.6 + current.round * 0.3), y - open / 2 - 2, half, y - smile / 2);
          g.bezierCurveTo(half * 0.7, y + open / 2 + smile, -half * 0.7, y + open / 2 + smile, -half, y - smile / 2);
          g.fill();
          if (current.teeth > 0.3 && open > 8) {
            g.fillStyle = "#f4f1ea"; g.fillRect(-half * 0.55, y - open / 2, half * 1.1, Math.min(7, open / 3));
          }
          g.strokeStyle = "#a8555a"; g.lineWidth = 4; g.lineJoin = "round";
          g.stroke();
        }

        function drawSpeaking(now) {
          const speaking = now - lastVoice < 250;
          const bars = document.querySelectorAll("#speaking i");
          bars.forEach((bar, i) => {
            const level = speaking ? 35 + 65 * Math.abs(Math.sin(now / 120 + i * 1.3)) : 20;
            bar.style.height = level + "%"; bar.style.opacity = speaking ? "1" : ".35";
          });
          state.speaking = speaking;
        }

        function frame(now) {
          if (now > blinkAt) { blinkUntil = now + 130; blinkAt = now + 2500 + Math.random() * 3500; }
          const t = now / 1000;
          g.setTransform(1, 0, 0, 1, 0, 0);
          g.fillStyle = "#151b29"; g.fillRect(0, 0, canvas.width, canvas.height);
          g.setTransform(scale, 0, 0, scale, offsetX, offsetY);
          drawBackground();
          drawBody(Math.sin(t * 1.6));
          drawHead(now, t);
          drawSpeaking(now);
          requestAnimationFrame(frame);
        }
        requestAnimationFrame(frame);

        // ---- the agent's voice: 20 ms PCM frames, scheduled back to back
        const audio = new AudioContext({ sampleRate: RATE });
        let playAt = 0, playing = [], cueTimers = [];
        // Browsers start an AudioContext suspended until the page may play sound: try again on
        // every piece of media (the bot's browser allows it; a tab someone opened needs a click).
        function wake() { if (audio.state === "suspended") audio.resume().catch(() => {}); }
        function play(buffer) {
          wake();
          state.agentFrames++;
          const samples = new Int16Array(buffer), pcm = new Float32Array(samples.length);
          for (let i = 0; i < samples.length; i++) pcm[i] = samples[i] / 32768;
          const clip = audio.createBuffer(1, pcm.length, RATE);
          clip.copyToChannel(pcm, 0);
          const source = audio.createBufferSource();
          source.buffer = clip; source.connect(audio.destination);
          playAt = Math.max(playAt, audio.currentTime + 0.03);
          source.start(playAt);
          const ends = playAt + clip.duration;
          playAt = ends;
          lastVoice = Math.max(lastVoice, performance.now() + (ends - audio.currentTime) * 1000 - 20);
          playing.push(source);
          source.onended = () => { playing = playing.filter((s) => s !== source); };
        }
        function clear() {      // the agent was interrupted: drop what is scheduled
          for (const source of playing) { try { source.stop(); } catch (_) {} }
          playing = []; playAt = 0; lastVoice = 0;
          cueTimers.forEach(clearTimeout); cueTimers = []; viseme = "sil";
        }
        function lipSync(cues) {  // cues are relative to the speech chunk, which starts where playback is queued
          const start = Math.max(playAt, audio.currentTime + 0.03) - audio.currentTime;
          for (const cue of cues) cueTimers.push(setTimeout(() => { viseme = cue.viseme; }, (start * 1000) + cue.at_ms));
        }

        // ---- the meeting's audio, down to 16 kHz mono 16-bit PCM in an AudioWorklet
        let capturing = null;
        let currentSocket = null;
        function capture() {
          if (!capturing) capturing = (async () => {
            await audio.audioWorklet.addModule(document.body.dataset.worklet);
            const stream = await navigator.mediaDevices.getUserMedia({
              audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false }
            });
            const tap = new AudioWorkletNode(audio, "attache-capture", { numberOfOutputs: 1 });
            tap.port.onmessage = (event) => {
              if (currentSocket && currentSocket.readyState === WebSocket.OPEN) { currentSocket.send(event.data); state.sentFrames++; }
            };
            // Pulled through a silent gain to the speakers: a node nothing pulls is not run, and
            // the meeting must not hear itself.
            const mute = audio.createGain(); mute.gain.value = 0;
            audio.createMediaStreamSource(stream).connect(tap); tap.connect(mute); mute.connect(audio.destination);
            wake();
          })();
          return capturing;
        }

        // ---- a cloud avatar's room: LiveKit's browser SDK, loaded only when a room is announced
        const rooms = new Map();    // "url token" -> LiveKit room, for the current session and one ending
        function loadSDK() {
          if (window.LivekitClient) return Promise.resolve();
          const source = document.body.dataset.livekit;
          if (!source) return Promise.reject(new Error("this page does not load LiveKit"));
          return new Promise((resolve, reject) => {
            const script = document.createElement("script");
            script.src = source; script.onload = resolve; script.onerror = () => reject(new Error("cannot load " + source));
            document.head.appendChild(script);
          });
        }
        async function joinAvatarRoom(url, roomToken) {
          const key = url + " " + roomToken;
          if (rooms.has(key)) return;     // the same room again, after a reconnect of this page
          await loadSDK();
          const room = new LivekitClient.Room({ adaptiveStream: true });
          const elements = [];
          room.on(LivekitClient.RoomEvent.TrackSubscribed, (track) => {
            // The newest room's video is appended last, so it covers the one whose session is ending.
            const element = track.attach();
            elements.push(element); document.body.appendChild(element);
            if (track.kind === "video") canvas.style.display = "none";
          });
          room.on(LivekitClient.RoomEvent.Disconnected, () => {
            // The old session stopped after its last sentence (a rotation), or the call ended.
            rooms.delete(key);
            elements.forEach((element) => element.remove());
            if (rooms.size === 0) canvas.style.display = "block";
          });
          rooms.set(key, room);
          try { await room.connect(url, roomToken); status("in the call, avatar live"); }
          catch (e) { rooms.delete(key); status("avatar room unreachable: " + e); }
        }

        const query = "?token=" + encodeURIComponent(token);
        async function connect() {
          let reply;
          try { reply = await fetch(`/media/${meeting}/owner` + query, { cache: "no-store" }); }
          catch (e) { status("realtime worker unreachable; retrying"); setTimeout(connect, 2000); return; }
          if (reply.status === 401 || reply.status === 403) { status("this camera link is not valid (" + reply.status + ")"); return; }
          if (!reply.ok) { status("no live call for this meeting yet; retrying"); setTimeout(connect, 2000); return; }
          const owner = await reply.json();
          const socket = new WebSocket(owner.media_url.replace(/^http/, "ws").replace(/\/$/, "") + `/media/${meeting}` + query);
          socket.binaryType = "arraybuffer";
          socket.onopen = () => {
            currentSocket = socket; status("in the call");
            capture().catch((e) => failed("no meeting audio", e));
          };
          socket.onmessage = (event) => {
            if (typeof event.data !== "string") { play(event.data); return; }
            const message = JSON.parse(event.data);
            wake();
            if (message.type === "visemes") lipSync(message.cues);
            else if (message.type === "reaction") {
              reaction = message.reaction; reactionSince = performance.now();
              if (message.reaction === "neutral" && state.agentFrames > 0) state.said++;
            }
            else if (message.type === "clear") clear();
            else if (message.type === "agent") {
              document.getElementById("name").textContent = message.name;
              document.getElementById("company").textContent = message.company;
              document.title = `${message.name} · ${message.company}`;
            }
            else if (message.type === "avatar_room") joinAvatarRoom(message.url, message.token).catch((e) => failed("no avatar", e));
          };
          socket.onclose = () => {
            if (currentSocket === socket) currentSocket = null;
            status("disconnected; reconnecting"); setTimeout(connect, 1000);
          };
        }
        document.addEventListener("click", wake);
        connect();
        """#
}
