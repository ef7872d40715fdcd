// What the Node tests share, whichever client they drive: waiting on a condition (never a
// fixed sleep), a deferred promise, a notification payload, and the server's open
// connections as GET /health reports them.

/** Polls `predicate` (sync or async) every 10 ms until it is truthy, and returns its value;
 *  fails with `what` and `context()` after `ms`. */
export async function waitFor(what, predicate, { ms = 8000, context = () => '' } = {}) {
  let deadline = Date.now() + ms
  for (;;) {
    let v = await predicate()
    if (v) return v
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}\n${context()}`)
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}

export function deferred() {
  let resolve, reject
  let promise = new Promise((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/** A valid `new_notification` payload of `account`. */
export function notification(account, id, extra = {}) {
  return {
    id,
    account_id: account,
    notification_type: 'test.x',
    title: `title ${id}`,
    message: 'm',
    severity: 'info',
    read: false,
    created_at: '2026-01-01T00:00:00Z',
    ...extra
  }
}

/** The authenticated connections the server at `httpUrl` has open. */
export async function openConnections(httpUrl) {
  let resp = await fetch(`${httpUrl}/health`)
  let body = await resp.json()
  if (resp.status !== 200 || !Number.isInteger(body.connections)) throw new Error(`GET /health: ${resp.status} ${JSON.stringify(body)}`)
  return body.connections
}

/** Waits until the server has seen every connection end (after a socket was dropped, the
 *  session is kept for resume by then). */
export async function waitForNoConnections(httpUrl, context = () => '') {
  await waitFor('the server to see the connection end', async () => (await openConnections(httpUrl)) === 0, { context })
}
