// MathJax 3, served from this site (no CDN): typeset the \( \) and \[ \] spans that
// pymdownx.arithmatex leaves in the pages, and nothing else.
window.MathJax = {
  tex: {inlineMath: [["\\(", "\\)"]], displayMath: [["\\[", "\\]"]], processEscapes: false},
  options: {ignoreHtmlClass: ".*", processHtmlClass: "arithmatex", enableMenu: false},
  loader: {load: []},
  svg: {fontCache: "global"}
};
