// Sign in with an API key (checked against a read endpoint) or a username and password (POST /auth/login).
import { ApiError, api, signIn } from '../api'
import { h } from '../dom'
import type { View } from '../main'

export function signInView(): View {
  const error = h('p', { class: 'error', role: 'alert', id: 'signin-error' })
  const done = () => { location.hash = '#/' }

  const keyInput = h('input', { id: 'api-key', name: 'api-key', type: 'password', autocomplete: 'off', required: true,
    placeholder: 'sk_…', 'aria-describedby': 'key-help' })
  const keyForm = h('form', { class: 'card', 'aria-labelledby': 'key-title', onsubmit: async (e: Event) => {
    e.preventDefault()
    error.textContent = ''
    const secret = keyInput.value.trim()
    // Any read that needs a valid key tells us whether it is one; a key without project scopes is still a key.
    const res = await fetch('/api/v1/captures?limit=1', { headers: { Authorization: `Bearer ${secret}` } })
    const check = await fetch('/360/projects', { headers: { Authorization: `Bearer ${secret}` } })
    if (res.status === 401 && check.status === 401) {
      error.textContent = 'That API key was not accepted.'
      return
    }
    signIn({ kind: 'key', secret, label: `key ${secret.slice(0, 10)}…` })
    done()
  } },
    h('h2', { id: 'key-title' }, 'API key'),
    h('label', { for: 'api-key' }, 'Key'), keyInput,
    h('p', { id: 'key-help', class: 'hint' }, 'Made with ', h('code', {}, 'omnidrop keys create'), '. Kept in this browser only.'),
    h('button', { type: 'submit' }, 'Use key'))

  const user = h('input', { id: 'username', name: 'username', autocomplete: 'username', required: true })
  const pass = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true })
  const loginForm = h('form', { class: 'card', 'aria-labelledby': 'login-title', onsubmit: async (e: Event) => {
    e.preventDefault()
    error.textContent = ''
    try {
      const got = await api<{ token: string; expires_at: string }>('/auth/login', {
        method: 'POST', json: { username: user.value, password: pass.value }, headers: { Authorization: '' } })
      signIn({ kind: 'token', secret: got.token, label: user.value, expiresAt: got.expires_at })
      done()
    } catch (err) {
      error.textContent = err instanceof ApiError && err.status === 401 ? 'Wrong username or password.' : String((err as Error).message)
    }
  } },
    h('h2', { id: 'login-title' }, 'Username and password'),
    h('label', { for: 'username' }, 'Username'), user,
    h('label', { for: 'password' }, 'Password'), pass,
    h('button', { type: 'submit' }, 'Sign in'))

  return { el: h('section', { class: 'signin' }, h('h1', {}, 'Sign in to omnidrop'), error, h('div', { class: 'grid2' }, keyForm, loginForm)) }
}
