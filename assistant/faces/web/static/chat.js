(() => {
  function panel() {
    let box = document.getElementById("ba-viewer");
    if (box) return box;
    box = document.createElement("aside");
    box.id = "ba-viewer";
    box.setAttribute("role", "dialog");
    box.setAttribute("aria-label", "Source document");
    const bar = document.createElement("div");
    bar.className = "ba-viewer-bar";
    const title = document.createElement("strong");
    title.textContent = "Source document";
    const tab = document.createElement("a");
    tab.className = "ba-viewer-tab";
    tab.target = "_blank";
    tab.rel = "noopener";
    tab.textContent = "Open in new tab";
    const close = document.createElement("button");
    close.type = "button";
    close.className = "ba-viewer-close";
    close.setAttribute("aria-label", "Close");
    close.textContent = "\u00d7";
    close.addEventListener("click", () => box.classList.remove("open"));
    bar.append(title, tab, close);
    const frame = document.createElement("iframe");
    frame.title = "Source document";
    box.append(bar, frame);
    document.body.append(box);
    return box;
  }
  document.addEventListener("click", (event) => {
    const link = event.target.closest ? event.target.closest("a[href*='/view/']") : null;
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    event.stopPropagation();
    const box = panel();
    box.querySelector("iframe").src = link.href;
    box.querySelector(".ba-viewer-tab").href = link.href;
    box.classList.add("open");
  }, true);
  document.addEventListener("keydown", (event) => {
    const box = document.getElementById("ba-viewer");
    if (event.key === "Escape" && box) box.classList.remove("open");
  });
})();
