/// The page the meeting bot shows as its camera (Recall.ai's Output Media loads a URL like
/// this one). It hears the meeting through getUserMedia, which in the bot's browser is the
/// meeting's audio; sends it as 16 kHz PCM; plays the agent's voice; and draws the avatar,
/// moving its mouth on the viseme cues and its head on the reactions. With a cloud avatar, it
/// shows the avatar's LiveKit room instead (video and voice both come from there), joining each
/// new room a rotation announces and leaving the old one when its session ends.
enum CameraPage {
    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <title>Attaché</title>
        <style>
          html, body { margin: 0; height: 100%; background: #1d2230; color: #dfe6f3; font: 14px system-ui, sans-serif; }
          canvas { display: block; margin: 0 auto; }
          video { position: fixed; inset: 0; width: 100%; height: 100%; object-fit: cover; background: #1d2230; }
          #status { position: fixed; bottom: 8px; left: 12px; opacity: .7; }
        </style>
        </head>
        <body>
        <canvas id="avatar" width="640" height="480"></canvas>
        <div id="status">connecting…</div>
        <script>
        "use strict";
        const RATE = 16000;
        const meeting = location.pathname.split("/").filter(Boolean).pop();
        const status = (text) => { document.getElementById("status").textContent = text; };

        // ---- avatar: a face whose mouth follows the viseme cues, whose head follows reactions
        const mouths = {            // [width, height] of the mouth opening per viseme
          sil: [40, 4], PP: [36, 2], FF: [44, 8], TH: [46, 12], DD: [48, 16], kk: [50, 20], CH: [38, 22],
          SS: [52, 10], nn: [46, 14], RR: [36, 20], aa: [60, 44], E: [62, 28], I: [64, 18], O: [40, 40], U: [30, 30]
        };
        let mouth = "sil", reaction = "neutral", reactionSince = 0;
        const canvas = document.getElementById("avatar"), g = canvas.getContext("2d");
        function draw(now) {
          const t = (now - reactionSince) / 1000;
          let tilt = 0, lift = 0;
          if (reaction === "nod" && t < 1.2) lift = Math.sin(t * Math.PI * 2.5) * 10;
          if (reaction === "interested") tilt = 0.08;
          if (reaction === "thinking") tilt = -0.06;
          g.clearRect(0, 0, canvas.width, canvas.height);
          g.save();
          g.translate(320, 250 + lift); g.rotate(tilt);
          g.fillStyle = "#f0c8a0"; g.beginPath(); g.ellipse(0, 0, 150, 185, 0, 0, Math.PI * 2); g.fill();
          g.fillStyle = "#2b2b2b";
          const eyeY = reaction === "thinking" ? -60 : -50;
          g.beginPath(); g.arc(-55, eyeY, 12, 0, Math.PI * 2); g.arc(55, eyeY, 12, 0, Math.PI * 2); g.fill();
          const [w, h] = mouths[mouth] || mouths.sil;
          g.fillStyle = "#8a2f3c"; g.beginPath(); g.ellipse(0, 85, w / 2, Math.max(h / 2, 1.5), 0, 0, Math.PI * 2); g.fill();
          g.restore();
          requestAnimationFrame(draw);
        }
        requestAnimationFrame(draw);

        // ---- the agent's voice: 20 ms PCM frames, scheduled back to back
        const audio = new AudioContext({ sampleRate: RATE });
        let playAt = 0, playing = [], cueTimers = [];
        function play(buffer) {
          const samples = new Int16Array(buffer), pcm = new Float32Array(samples.length);
          for (let i = 0; i < samples.length; i++) pcm[i] = samples[i] / 32768;
          const clip = audio.createBuffer(1, pcm.length, RATE);
          clip.copyToChannel(pcm, 0);
          const source = audio.createBufferSource();
          source.buffer = clip; source.connect(audio.destination);
          playAt = Math.max(playAt, audio.currentTime + 0.03);
          source.start(playAt);
          playAt += clip.duration;
          playing.push(source);
          source.onended = () => { playing = playing.filter((s) => s !== source); };
        }
        function clear() {      // the agent was interrupted: drop what is scheduled
          for (const source of playing) { try { source.stop(); } catch (_) {} }
          playing = []; playAt = 0;
          cueTimers.forEach(clearTimeout); cueTimers = []; mouth = "sil";
        }
        function lipSync(cues) {  // cues are relative to the speech chunk, which starts where playback is queued
          const start = Math.max(playAt, audio.currentTime + 0.03) - audio.currentTime;
          for (const cue of cues) cueTimers.push(setTimeout(() => { mouth = cue.viseme; }, (start * 1000) + cue.at_ms));
        }

        // ---- the meeting's audio, down to 16 kHz mono 16-bit PCM
        async function capture(socket) {
          const stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: false } });
          const input = audio.createMediaStreamSource(stream);
          const tap = audio.createScriptProcessor(1024, 1, 1);
          tap.onaudioprocess = (event) => {
            const pcm = event.inputBuffer.getChannelData(0), out = new Int16Array(pcm.length);
            for (let i = 0; i < pcm.length; i++) out[i] = Math.max(-1, Math.min(1, pcm[i])) * 32767;
            if (socket.readyState === WebSocket.OPEN) socket.send(out.buffer);
          };
          input.connect(tap); tap.connect(audio.destination);
        }

        // ---- a cloud avatar's room: LiveKit's browser SDK, loaded only when a room is announced
        const LIVEKIT_SDK = "https://cdn.jsdelivr.net/npm/livekit-client@2/dist/livekit-client.umd.min.js";
        const rooms = new Map();    // "url token" -> LiveKit room, for the current session and one ending
        function loadSDK() {
          if (window.LivekitClient) return Promise.resolve();
          return new Promise((resolve, reject) => {
            const script = document.createElement("script");
            script.src = LIVEKIT_SDK; script.onload = resolve; script.onerror = () => reject(new Error("cannot load " + LIVEKIT_SDK));
            document.head.appendChild(script);
          });
        }
        async function joinAvatarRoom(url, token) {
          const key = url + " " + token;
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
          try { await room.connect(url, token); status("in the call, avatar live"); }
          catch (e) { rooms.delete(key); status("avatar room unreachable: " + e); }
        }

        async function connect() {
          const reply = await fetch(`/media/${meeting}/owner`);
          if (!reply.ok) { status("no live call for this meeting yet; retrying"); setTimeout(connect, 2000); return; }
          const owner = await reply.json();
          const socket = new WebSocket(owner.media_url.replace(/^http/, "ws").replace(/\/$/, "") + `/media/${meeting}`);
          socket.binaryType = "arraybuffer";
          socket.onopen = () => { status("in the call"); capture(socket).catch((e) => status("no meeting audio: " + e)); };
          socket.onmessage = (event) => {
            if (typeof event.data !== "string") { play(event.data); return; }
            const message = JSON.parse(event.data);
            if (message.type === "visemes") lipSync(message.cues);
            else if (message.type === "reaction") { reaction = message.reaction; reactionSince = performance.now(); }
            else if (message.type === "clear") clear();
            else if (message.type === "avatar_room") joinAvatarRoom(message.url, message.token).catch((e) => status("no avatar: " + e));
          };
          socket.onclose = () => { status("disconnected; reconnecting"); setTimeout(connect, 1000); };
        }
        document.addEventListener("click", () => audio.resume());
        connect();
        </script>
        </body>
        </html>
        """#
}
