// Passkeys on Latch's pages. The server sends WebAuthn options as JSON with binary fields in
// base64url; this script turns them into what navigator.credentials expects, and the result
// back into JSON that is posted in an ordinary form, so that every outcome is a server page.
(function () {
  'use strict';

  function toBytes(s) {
    s = s.replace(/-/g, '+').replace(/_/g, '/');
    while (s.length % 4) s += '=';
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function toB64u(buf) {
    var bytes = new Uint8Array(buf), bin = '';
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function csrfToken() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.content : '';
  }

  // options asks the server to start a ceremony; it answers {challengeId, options}.
  async function options(url, fields) {
    var body = new URLSearchParams(fields || {});
    var resp = await fetch(url, {
      method: 'POST', credentials: 'same-origin', body: body,
      headers: { 'X-CSRF-Token': csrfToken() }
    });
    var data = null;
    try { data = await resp.json(); } catch (e) { /* not JSON: a refusal page */ }
    if (!resp.ok || !data) {
      var msg = data && data.error ? data.error.message : 'The server refused the request. Reload the page and try again.';
      throw new Error(msg);
    }
    return data;
  }

  function requestOptions(pk) {
    pk.challenge = toBytes(pk.challenge);
    (pk.allowCredentials || []).forEach(function (c) { c.id = toBytes(c.id); });
    return pk;
  }

  function creationOptions(pk) {
    pk.challenge = toBytes(pk.challenge);
    pk.user.id = toBytes(pk.user.id);
    (pk.excludeCredentials || []).forEach(function (c) { c.id = toBytes(c.id); });
    return pk;
  }

  function credentialJSON(c) {
    var r = c.response, out = {
      id: c.id, rawId: toB64u(c.rawId), type: c.type,
      authenticatorAttachment: c.authenticatorAttachment || undefined,
      clientExtensionResults: c.getClientExtensionResults ? c.getClientExtensionResults() : {},
      response: { clientDataJSON: toB64u(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      out.response.attestationObject = toB64u(r.attestationObject);
      if (r.getTransports) out.response.transports = r.getTransports();
    } else {
      out.response.authenticatorData = toB64u(r.authenticatorData);
      out.response.signature = toB64u(r.signature);
      if (r.userHandle) out.response.userHandle = toB64u(r.userHandle);
    }
    return JSON.stringify(out);
  }

  function show(el, msg) {
    if (!el) return;
    el.textContent = msg;
    el.hidden = !msg;
  }

  // Cancelled or timed-out ceremonies are the person's choice, not errors worth a scary message.
  function describe(err) {
    if (err && (err.name === 'NotAllowedError' || err.name === 'AbortError')) {
      return 'The passkey request was cancelled or timed out. Try again, or use another way.';
    }
    if (err && err.name === 'InvalidStateError') {
      return 'This device already holds a passkey for your account.';
    }
    return (err && err.message) || 'Something went wrong with the passkey.';
  }

  function setupSignIn(form) {
    var status = document.querySelector('.error[role="alert"]');
    var button = document.getElementById('passkey-signin');
    var pending = null; // the conditional request, aborted when the button is used

    async function run(mediation) {
      var ctl = new AbortController();
      if (pending) pending.abort();
      pending = ctl;
      var data = await options('/login/passkey/options', { tenant: form.dataset.tenant });
      var req = { publicKey: requestOptions(data.options.publicKey), signal: ctl.signal };
      if (mediation) req.mediation = mediation;
      var cred = await navigator.credentials.get(req);
      if (!cred) return;
      form.elements.step.value = 'passkey';
      form.elements.challenge.value = data.challengeId;
      form.elements.assertion.value = credentialJSON(cred);
      form.submit();
    }

    if (!window.PublicKeyCredential) {
      if (button) button.hidden = true;
      return;
    }
    if (button) {
      button.addEventListener('click', function () {
        show(status, '');
        run(null).catch(function (e) { show(status, describe(e)); });
      });
    }
    // Conditional mediation: the browser offers passkeys in the user name field's autofill.
    if (PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (ok) {
        if (ok) run('conditional').catch(function () { /* the button remains */ });
      });
    }
  }

  function setupRegister(form) {
    var status = document.getElementById('passkey-status');
    var button = document.getElementById('passkey-add');
    if (!window.PublicKeyCredential) {
      show(status, 'This browser does not support passkeys.');
      if (button) button.disabled = true;
      return;
    }
    button.addEventListener('click', async function () {
      show(status, '');
      button.disabled = true;
      try {
        var data = await options('/security-info/passkeys/options');
        var cred = await navigator.credentials.create({ publicKey: creationOptions(data.options.publicKey) });
        form.elements.challenge.value = data.challengeId;
        form.elements.credential.value = credentialJSON(cred);
        form.submit();
      } catch (e) {
        show(status, describe(e));
        button.disabled = false;
      }
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    var login = document.querySelector('form[data-passkey="login"]');
    if (login) setupSignIn(login);
    var reg = document.querySelector('form[data-passkey="register"]');
    if (reg) setupRegister(reg);
  });
})();
