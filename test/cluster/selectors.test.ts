import t from 'tap';
import { KpfError } from '../../src/core/errors.js';
import type { LabelSelector } from '../../src/manifests/types.js';
import {
  formatSelector,
  isEmptySelector,
  matchesSelector,
  parseSelectorString,
} from '../../src/cluster/selectors.js';
import { expr, sel } from '../helpers/objects.js';

const web = { app: 'web', env: 'prod' };
const none = {};

t.test('matchesSelector', async (t) => {
  const cases: [string, LabelSelector, Record<string, string>, boolean][] = [
    ['empty_matches_all______', sel(), web, true],
    ['empty_matches_unlabeled', sel(), none, true],
    ['matchLabels_equal______', sel({ app: 'web' }), web, true],
    ['matchLabels_other_value', sel({ app: 'db' }), web, false],
    ['matchLabels_missing_key', sel({ tier: 'x' }), web, false],
    ['matchLabels_all_needed_', sel({ app: 'web', env: 'dev' }), web, false],
    ['In_present_in_set______', sel({}, [expr('env', 'In', 'dev', 'prod')]), web, true],
    ['In_present_not_in_set__', sel({}, [expr('env', 'In', 'dev')]), web, false],
    ['In_missing_key_________', sel({}, [expr('tier', 'In', 'a')]), web, false],
    ['NotIn_present_in_set___', sel({}, [expr('env', 'NotIn', 'prod')]), web, false],
    ['NotIn_present_other____', sel({}, [expr('env', 'NotIn', 'dev')]), web, true],
    ['NotIn_missing_key______', sel({}, [expr('tier', 'NotIn', 'a')]), web, true],
    ['NotIn_unlabeled________', sel({}, [expr('tier', 'NotIn', 'a')]), none, true],
    ['Exists_present_________', sel({}, [expr('app', 'Exists')]), web, true],
    ['Exists_missing_________', sel({}, [expr('tier', 'Exists')]), web, false],
    ['DoesNotExist_missing___', sel({}, [expr('tier', 'DoesNotExist')]), web, true],
    ['DoesNotExist_present___', sel({}, [expr('app', 'DoesNotExist')]), web, false],
    ['labels_and_expressions_', sel({ app: 'web' }, [expr('env', 'NotIn', 'prod')]), web, false],
    ['empty_value_label______', sel({ x: '' }), { x: '' }, true],
    ['proto_key_not_inherited', sel({}, [expr('toString', 'Exists')]), none, false],
  ];
  for (const [name, s, labels, want] of cases) t.equal(matchesSelector(s, labels), want, name);
});

t.test('isEmptySelector', async (t) => {
  t.ok(isEmptySelector(sel()));
  t.notOk(isEmptySelector(sel({ a: 'b' })));
  t.notOk(isEmptySelector(sel({}, [expr('a', 'Exists')])));
});

t.test('formatSelector (kubectl style)', async (t) => {
  const cases: [LabelSelector, string][] = [
    [sel(), '<none>'],
    [sel({ app: 'nginx' }), 'app=nginx'],
    [sel({ env: 'p', app: 'nginx' }), 'app=nginx,env=p'],
    [sel({ app: 'nginx' }, [expr('env', 'In', 'b', 'a'), expr('x', 'DoesNotExist')]), 'app=nginx,env in (a,b),!x'],
    [sel({}, [expr('tier', 'NotIn', 'db'), expr('role', 'Exists')]), 'role,tier notin (db)'],
  ];
  for (const [s, want] of cases) t.equal(formatSelector(s), want, want);
});

t.test('parseSelectorString: good input', async (t) => {
  const cases: [string, LabelSelector][] = [
    ['', sel()],
    ['   ', sel()],
    ['app=web', sel({ app: 'web' })],
    ['app==web', sel({ app: 'web' })],
    ['app = web', sel({ app: 'web' })],
    ['app!=web', sel({}, [expr('app', 'NotIn', 'web')])],
    ['env in (a,b)', sel({}, [expr('env', 'In', 'a', 'b')])],
    ['env in ( a , b )', sel({}, [expr('env', 'In', 'a', 'b')])],
    ['env notin (a)', sel({}, [expr('env', 'NotIn', 'a')])],
    ['tier', sel({}, [expr('tier', 'Exists')])],
    ['!tier', sel({}, [expr('tier', 'DoesNotExist')])],
    ['app=web,env in (a,b),!x', sel({ app: 'web' }, [expr('env', 'In', 'a', 'b'), expr('x', 'DoesNotExist')])],
    ['k8s.io/app=web', sel({ 'k8s.io/app': 'web' })],
    ['app=', sel({ app: '' })],
    ['app=a,app=b', sel({ app: 'a' }, [expr('app', 'In', 'b')])],
  ];
  for (const [input, want] of cases) t.same(parseSelectorString(input), want, JSON.stringify(input));
});

t.test('parseSelectorString: round trip through formatSelector', async (t) => {
  for (const text of ['app=nginx,env in (a,b),!x', 'role,tier notin (db)', 'a=b,c']) {
    t.equal(formatSelector(parseSelectorString(text)), text, text);
  }
});

t.test('parseSelectorString: bad input', async (t) => {
  const cases: [string, RegExp][] = [
    ['app in a,b', /parentheses|expected/],
    ['env in (a,b', /missing "\)"/],
    ['env in a)', /unexpected "\)"|parentheses/],
    ['env in ()', /can't be empty/],
    ['app=web,', /empty requirement/],
    [',app', /empty requirement/],
    ['=web', /missing label key|malformed/],
    ['app=we b', /not a valid label value/],
    ['a b', /expected "="/],
    ['!app=web', /bare key/],
    ['replicas>3', /not supported/],
    ['-bad=x', /not a valid label key/],
    ['app=web!', /not a valid label value/],
    ['env in ((a))', /nested/],
  ];
  for (const [input, msg] of cases) {
    try {
      parseSelectorString(input);
      t.fail(`accepted ${JSON.stringify(input)}`);
    } catch (e) {
      t.ok(e instanceof KpfError, `KpfError for ${JSON.stringify(input)}`);
      const err = e as KpfError;
      t.equal(err.code, 'KPF_ERR_USAGE');
      t.match(err.message, msg, JSON.stringify(input));
      t.match(err.message, `invalid label selector "${input}"`);
    }
  }
});
