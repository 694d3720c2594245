// What a zabbix-promise user does: log in, list problems with their hosts, acknowledge one, read it
// back, log out. Prints what each step answered as one JSON object; exits 1 on an unexpected error.
// Usage: node zabbix_promise_flow.js <package dir> <API URL>
'use strict'

const [packageDir, url] = process.argv.slice(2)
const Zabbix = require(packageDir)

async function refusal (call) {
  try {
    await call()
    return null
  } catch (error) {
    return JSON.parse(error).error // zabbix-promise throws the whole response as JSON text
  }
}

async function main () {
  const zabbix = new Zabbix({ url, user: 'operator', password: 'operator' })
  const session = await zabbix.login()
  const problems = await zabbix.request('problem.get', {
    output: ['eventid', 'name'], selectHosts: ['host'], acknowledged: false, sortfield: 'eventid'
  })
  const eventid = problems[0].eventid
  const acknowledged = await zabbix.request('event.acknowledge', {
    eventids: eventid, action: 6, message: 'zabbix-promise was here'
  })
  const events = await zabbix.request('event.get', {
    eventids: eventid, output: ['acknowledged'], select_acknowledges: ['message']
  })
  const refused = await refusal(() => zabbix.request('event.acknowledge', { eventids: eventid, action: 4 }))
  const loggedOut = await zabbix.logout()
  console.log(JSON.stringify({ session, problems, eventid, acknowledged, events, refused, loggedOut }))
}

main().catch((error) => {
  console.error(String(error))
  process.exit(1)
})
