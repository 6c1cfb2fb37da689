"""Per-target view of a finished experiment (usage: python3 docs/results/per_target.py docs/results/paper): t-MAP (skip and zero rules) per target class, mean over seeds, and the
paired differences CIBA - Tri and CIBA - Tri+Adv per target. Reads the per-run result.json files kept beside this
script's argument (a run folder, or its copy under docs/results/). The toolkit's results.md has the pooled paired statistics."""
import glob, json, os, sys, statistics as st

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), 'paper')
runs = {}
for f in glob.glob(os.path.join(root, 'seed-*', 'target-*', '*', 'result.json')):
    r = json.load(open(f))
    runs[(r['seed'], r['target'], r['method'])] = r
methods = ['clean', 'tri', 'tri+noise', 'tri+adv', 'ciba']
seeds = sorted({s for s, _, _ in runs})
targets = sorted({t for _, t, _ in runs})
blocks = [(s, t) for s in seeds for t in targets if all((s, t, m) in runs for m in methods)]
tie_aware = all('databaseOrder' in r for r in runs.values())
print(f'{len(blocks)} complete (seed, target) blocks; seeds {seeds}; figures '
      + ('tie-aware (database-order table at the end)' if tie_aware else 'with ties in database order (written before tie-aware metrics)'))
names = {t: runs[(s, t, 'ciba')]['targetName'] for s, t in blocks}

def m(v): return sum(v) / len(v)

print('\n| target | patch only | tri | tri+noise | tri+adv | ciba | ciba − tri | ciba − tri+adv | seeds |')
print('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
for t in targets:
    bs = [(s, tt) for s, tt in blocks if tt == t]
    if not bs: continue
    val = {me: [runs[(s, t, me)]['tMAP'] for s, _ in bs] for me in methods}
    d1 = [c - x for c, x in zip(val['ciba'], val['tri'])]
    d2 = [c - x for c, x in zip(val['ciba'], val['tri+adv'])]
    print(f"| {t} {names[t]} | " + ' | '.join(f'{m(val[me]):.2f}' for me in methods)
          + f" | {m(d1):+.2f} | {m(d2):+.2f} | {len(bs)} |")
print('\nZero rule (queries with no target image in their top R count as 0):')
print('| target | tri | tri+adv | ciba | ciba − tri | ciba − tri+adv |')
print('| --- | ---: | ---: | ---: | ---: | ---: |')
for t in targets:
    bs = [(s, tt) for s, tt in blocks if tt == t]
    if not bs: continue
    val = {me: [runs[(s, t, me)]['tMAPOtherRule'] for s, _ in bs] for me in ['tri', 'tri+adv', 'ciba']}
    print(f"| {t} {names[t]} | {m(val['tri']):.2f} | {m(val['tri+adv']):.2f} | {m(val['ciba']):.2f} | "
          f"{m([c - x for c, x in zip(val['ciba'], val['tri'])]):+.2f} | {m([c - x for c, x in zip(val['ciba'], val['tri+adv'])]):+.2f} |")
print('\nPer seed (mean over targets), skip rule:')
for s in seeds:
    bs = [(ss, t) for ss, t in blocks if ss == s]
    print(f'seed {s} ({len(bs)} targets): ' + ', '.join(f"{me} {m([runs[(s, t, me)]['tMAP'] for _, t in bs]):.2f}" for me in methods))
if tie_aware:
    print('\nDatabase order (ties broken by database order, the reference code\'s convention), skip rule:')
    print('| target | tri | tri+adv | ciba | ciba − tri | ciba − tri+adv |')
    print('| --- | ---: | ---: | ---: | ---: | ---: |')
    for t in targets:
        bs = [(s, tt) for s, tt in blocks if tt == t]
        if not bs: continue
        val = {me: [runs[(s, t, me)]['databaseOrder']['tMAP'] for s, _ in bs] for me in ['tri', 'tri+adv', 'ciba']}
        print(f"| {t} {names[t]} | {m(val['tri']):.2f} | {m(val['tri+adv']):.2f} | {m(val['ciba']):.2f} | "
              f"{m([c - x for c, x in zip(val['ciba'], val['tri'])]):+.2f} | {m([c - x for c, x in zip(val['ciba'], val['tri+adv'])]):+.2f} |")
