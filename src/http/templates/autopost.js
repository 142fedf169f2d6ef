// Posts the form of poolgate's "continue sign-in" page as soon as it loads: the form
// re-sends a cross-site callback from poolgate's own origin, so that its SameSite=Lax
// binding cookie comes along. Served from poolgate's origin: the page's CSP allows no
// inline script.
(function () {
  var form = document.querySelector('form[data-autopost]');
  if (form) {
    form.submit();
  }
})();
