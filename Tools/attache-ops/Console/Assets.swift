/// The console's stylesheet and its one script, served from memory so that the binary is the
/// whole console. The layout reads from 390 px (a phone) up: tables scroll sideways in their own
/// box instead of widening the page.
enum Assets {
    static let css = """
        *, *::before, *::after { box-sizing: border-box; }
        html { font: 16px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1b1f24; background: #f6f7f9; }
        body { margin: 0; }
        a { color: #0b57d0; }
        a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible { outline: 3px solid #f9a825; outline-offset: 2px; }
        .skip { position: absolute; left: -999px; }
        .skip:focus { left: 8px; top: 8px; background: #fff; padding: 4px 8px; }
        header { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: 8px;
            padding: 8px 16px; background: #1b1f24; }
        header a, header button { color: #fff; }
        header ul { display: flex; flex-wrap: wrap; gap: 4px 16px; list-style: none; margin: 0; padding: 0; }
        header a[aria-current="page"] { font-weight: 700; text-decoration-thickness: 3px; }
        header button { background: transparent; border: 1px solid #fff; }
        main { max-width: 1200px; margin: 0 auto; padding: 16px; }
        h1 { font-size: 1.5rem; margin: 0 0 12px; overflow-wrap: anywhere; }
        h2 { font-size: 1.2rem; }
        button { font: inherit; padding: 4px 12px; border-radius: 4px; border: 1px solid #0b57d0; background: #0b57d0;
            color: #fff; cursor: pointer; }
        input, select { font: inherit; padding: 4px 6px; max-width: 100%; }
        .filters { display: flex; flex-wrap: wrap; gap: 8px 12px; align-items: end; list-style: none; padding: 0; }
        .filters label { display: flex; flex-direction: column; font-size: .9rem; }
        .stack { display: flex; flex-direction: column; gap: 8px; max-width: 24rem; }
        .scroll { overflow-x: auto; }
        table { border-collapse: collapse; width: 100%; background: #fff; }
        th, td { text-align: left; vertical-align: top; padding: 6px 8px; border-bottom: 1px solid #d5d9de; overflow-wrap: anywhere; }
        th { background: #eceff3; }
        td form { margin: 0; }
        .tag { font-size: .8rem; background: #eceff3; border-radius: 3px; padding: 0 4px; }
        .error { color: #a50e0e; font-weight: 600; }
        .notice { color: #0d652d; font-weight: 600; }
        td.good { color: #0d652d; }
        td.bad { color: #a50e0e; font-weight: 600; }
        .hint { color: #4a5360; font-size: .9rem; }
        .pager { display: flex; gap: 16px; margin-top: 12px; }
        .facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; overflow-wrap: anywhere; }
        .facts dt { font-weight: 600; }
        .facts dd { margin: 0; }
        .timeline { list-style: none; padding: 0; margin: 0; border-left: 3px solid #d5d9de; }
        .timeline li { padding: 6px 0 6px 12px; overflow-wrap: anywhere; }
        .timeline time { font-variant-numeric: tabular-nums; color: #4a5360; }
        .timeline .service { display: inline-block; min-width: 10rem; font-size: .85rem; color: #4a5360; }
        .timeline p { margin: 2px 0 0; color: #4a5360; font-size: .9rem; }
        @media (max-width: 600px) {
            main { padding: 8px; }
            .timeline .service { min-width: 0; display: block; }
            /* Squeezed to a phone's width, a wide table breaks every word into letters: it keeps
               a readable width instead and scrolls sideways in its own box. */
            .scroll table { min-width: 40rem; }
            th, td { overflow-wrap: break-word; }
        }
        """

    /// Live refresh without reloading: a page that asks for it (`data-refresh` on <main>) is
    /// fetched again and its content swapped in, unless the operator is typing in it or the tab
    /// is hidden. A failed fetch (signed out, server gone) leaves the page as it was.
    static let javascript = """
        (function () {
          var main = document.getElementById("main");
          if (!main || !main.dataset.refresh) return;
          var seconds = Math.max(2, parseInt(main.dataset.refresh, 10) || 10);
          function refresh() {
            if (document.hidden || main.contains(document.activeElement) && document.activeElement.matches("input, select")) return;
            fetch(window.location.href, { credentials: "same-origin", redirect: "error" })
              .then(function (response) { return response.ok ? response.text() : null; })
              .then(function (text) {
                if (!text) return;
                var fresh = new DOMParser().parseFromString(text, "text/html").getElementById("main");
                if (fresh) main.replaceChildren.apply(main, Array.from(fresh.childNodes));
              })
              .catch(function () {});
          }
          window.setInterval(refresh, seconds * 1000);
        })();
        """
}
