import Foundation
import HTTPTypes
import Hummingbird
import Runtime

/// The page the meeting bot shows as its camera (Recall.ai's Output Media loads a URL like this
/// one and films it at 1280×720). It hears the meeting through getUserMedia, which in the bot's
/// browser is the meeting's audio; sends it as 16 kHz PCM from an AudioWorklet; plays the
/// agent's voice; and draws the agent (`CameraPageScript`): blinking, breathing, nodding on the
/// reactions, its mouth on the viseme cues, a speaking indicator and a name plate. With a cloud
/// avatar it shows the avatar's LiveKit room instead. Everything is inline or served here,
/// under a Content-Security-Policy that lets nothing else in (but LiveKit's SDK with the HeyGen
/// avatar).
struct CameraPage: Sendable {
    var agentName: String
    var company: String
    /// The HeyGen avatar's room is shown with LiveKit's browser SDK, loaded from its CDN.
    var loadsLiveKit: Bool

    static let workletPath = "/camera-assets/capture-worklet.js"
    static let liveKitSDK = "https://cdn.jsdelivr.net/npm/livekit-client@2/dist/livekit-client.umd.min.js"

    func response() -> Response {
        // A fresh nonce per page: the inline script and style run, injected ones do not.
        let nonce = Data((0..<18).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let policy = [
            "default-src 'none'",
            "script-src 'self' 'nonce-\(nonce)'" + (loadsLiveKit ? " https://cdn.jsdelivr.net" : ""),
            "style-src 'nonce-\(nonce)'",
            // The call's media connection may live on another replica.
            "connect-src 'self' http: https: ws: wss:",
            "media-src 'self' blob: mediastream:",
            "img-src 'self' data: blob:",
            "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
        ].joined(separator: "; ")
        let html = Self.template.replacingOccurrences(of: "{{nonce}}", with: nonce)
            .replacingOccurrences(of: "{{agent}}", with: HTMLEscaping.escape(agentName))
            .replacingOccurrences(of: "{{company}}", with: HTMLEscaping.escape(company))
            .replacingOccurrences(of: "{{worklet}}", with: Self.workletPath)
            .replacingOccurrences(of: "{{livekit}}", with: loadsLiveKit ? Self.liveKitSDK : "")
            .replacingOccurrences(of: "{{script}}", with: CameraPageScript.source)
        return Response(
            status: .ok,
            headers: [
                .contentType: "text/html; charset=utf-8", .cacheControl: "no-store", .contentSecurityPolicy: policy,
                // The page's URL holds its token: never hand it on.
                HTTPField.Name("Referrer-Policy")!: "no-referrer", .xContentTypeOptions: "nosniff",
            ],
            body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    private static let template = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="referrer" content="no-referrer">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <link rel="icon" href="data:,">
        <title>{{agent}} · {{company}}</title>
        <style nonce="{{nonce}}">
          html, body { margin: 0; width: 100%; height: 100%; overflow: hidden; background: #141a26; }
          body { position: relative; color: #eef2f8; font: 16px system-ui, "DejaVu Sans", sans-serif; }
          #stage { position: absolute; inset: 0; width: 100%; height: 100%; display: block; }
          video { position: absolute; inset: 0; width: 100%; height: 100%; object-fit: cover; background: #141a26; }
          #plate { position: absolute; left: 3.2vmin; bottom: 3.2vmin; display: flex; align-items: center; gap: 1.6vmin;
                   padding: 1.2vmin 2.2vmin; border-radius: 1.4vmin; background: rgba(10, 14, 22, .62); z-index: 2; }
          #name { font-weight: 650; font-size: max(14px, 3.4vmin); line-height: 1.15; }
          #company { opacity: .78; font-size: max(11px, 2.4vmin); }
          #speaking { display: flex; gap: .5vmin; align-items: flex-end; height: 3.4vmin; }
          #speaking i { display: block; width: .8vmin; height: 20%; border-radius: .4vmin; background: #5fd38d; opacity: .35; }
          #status { position: absolute; right: 2vmin; top: 1.6vmin; font-size: max(10px, 1.8vmin); opacity: .55; z-index: 2; }
        </style>
        </head>
        <body data-worklet="{{worklet}}" data-livekit="{{livekit}}">
        <canvas id="stage"></canvas>
        <div id="plate">
          <div id="speaking" aria-hidden="true"><i></i><i></i><i></i><i></i></div>
          <div><div id="name">{{agent}}</div><div id="company">{{company}}</div></div>
        </div>
        <div id="status">connecting…</div>
        <script nonce="{{nonce}}">
        {{script}}
        </script>
        </body>
        </html>
        """#

    /// Runs in the AudioWorklet: the meeting's audio as 20 ms frames of 16-bit PCM (320 samples
    /// at the context's 16 kHz), posted to the page, which sends them on. With no input (the
    /// track not started yet, or ended) it posts silence, as a quiet room sends: the agent's
    /// turn-taking counts on a steady stream.
    static let captureWorklet = #"""
        "use strict";
        class AttacheCapture extends AudioWorkletProcessor {
          constructor() { super(); this.frame = new Int16Array(320); this.filled = 0; }
          process(inputs) {
            const channel = inputs[0] && inputs[0][0];
            const length = channel ? channel.length : 128;
            for (let i = 0; i < length; i++) {
              const sample = channel ? Math.max(-1, Math.min(1, channel[i])) : 0;
              this.frame[this.filled++] = sample < 0 ? sample * 32768 : sample * 32767;
              if (this.filled === this.frame.length) {
                this.port.postMessage(this.frame.buffer, [this.frame.buffer]);
                this.frame = new Int16Array(320); this.filled = 0;
              }
            }
            return true;
          }
        }
        registerProcessor("attache-capture", AttacheCapture);
        """#
}
