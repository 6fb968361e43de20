import test from 'ava';
import { configSchema } from '../../src/config/schema.ts';
import { createPolicy } from '../../src/policy/policy.ts';

// A host-scoped rule that is stricter than the rule after it: the public host may only be read by
// superusers, every other (internal) host by staff.
const policy = createPolicy(
  configSchema.shape.policy.parse({
    default: 'superuser',
    rules: [
      { name: 'public host', hosts: ['flower.example.com', '*.public.example'], require: 'superuser' },
      { name: 'internal', require: 'staff' },
    ],
  }),
);
const ruleFor = (host: string) => policy.match({ method: 'GET', host, path: '/tasks', client: null }).rule;

test('a host rule matches its host however the client spells it: case, port, a trailing dot (as DNS and nginx treat it)', (t) => {
  // Honest twins: the spellings a browser sends.
  t.is(ruleFor('flower.example.com'), 'public host');
  t.is(ruleFor('Flower.Example.COM:443'), 'public host');
  t.is(ruleFor('eu.public.example'), 'public host');
  // The attacker's: the same host with a trailing dot, which DNS, nginx's server_name and Django's
  // ALLOWED_HOSTS all take for the same name; it must not slip past the stricter rule.
  t.is(ruleFor('flower.example.com.'), 'public host');
  t.is(ruleFor('flower.example.com.:443'), 'public host');
  t.is(ruleFor('eu.public.example.'), 'public host');
  // Another host is still another host.
  t.is(ruleFor('internal.example.com'), 'internal');
  t.is(ruleFor('flower.example.com.evil'), 'internal');
  t.is(ruleFor('[::1]:8080'), 'internal');
});
