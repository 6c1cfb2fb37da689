import json, glob, os, random, itertools, math
import sys; root=(sys.argv[1] if len(sys.argv) > 1 else 'docs/results/paper-partial') + '/seed-0'
rows={}
for f in sorted(glob.glob(root+'/target-*/*/result.json')):
    r=json.load(open(f)); rows.setdefault(r['target'],{})[r['method']]=r
methods=['clean','tri','tri+noise','tri+adv','ciba']
blocks=sorted(t for t,m in rows.items() if all(x in m for x in methods))
print('complete blocks (seed 0, targets):', blocks)
def mean(v): return sum(v)/len(v)
def sd(v):
    m=mean(v); return math.sqrt(sum((x-m)**2 for x in v)/(len(v)-1)) if len(v)>1 else 0
print('| method | mAP | t-MAP skip | t-MAP zero | chance |')
for m in methods:
    R=[rows[t][m] for t in blocks]
    print(f"| {m} | {mean([r['mAP'] for r in R]):.2f} ± {sd([r['mAP'] for r in R]):.2f} | {mean([r['tMAP'] for r in R]):.2f} ± {sd([r['tMAP'] for r in R]):.2f} | {mean([r['tMAPOtherRule'] for r in R]):.2f} | {mean([r['tMAPUntriggered'] for r in R]):.2f} |")
def wilcoxon(d):
    d=[x for x in d if x!=0]; n=len(d)
    order=sorted(range(n),key=lambda i:abs(d[i])); ranks=[0]*n
    i=0
    while i<n:
        j=i
        while j+1<n and abs(d[order[j+1]])==abs(d[order[i]]): j+=1
        for k in range(i,j+1): ranks[order[k]]=(i+j)/2+1
        i=j+1
    w=sum(r for r,x in zip(ranks,d) if x>0)
    # exact (assumes no ties)
    cnt=[0]*(n*(n+1)//2+1); cnt[0]=1
    for r in range(1,n+1):
        for s in range(len(cnt)-1,r-1,-1): cnt[s]+=cnt[s-r]
    lo=sum(cnt[:int(round(w))+1]); hi=sum(cnt[int(round(w)):])
    return w, min(1,2*min(lo,hi)/2**n)
def boot(d, B=10000, seed=0):
    rng=random.Random(seed); n=len(d)
    ms=sorted(sum(d[rng.randrange(n)] for _ in range(n))/n for _ in range(B))
    return ms[int(math.ceil(0.025*B))-1], ms[int(math.ceil(0.975*B))-1]
print()
for metric in ['tMAP','tMAPOtherRule','mAP']:
    for other in ['clean','tri','tri+noise','tri+adv']:
        d=[rows[t]['ciba'][metric]-rows[t][other][metric] for t in blocks]
        lo,hi=boot(d); w,p=wilcoxon(d)
        sig = (lo>0 or hi<0) and p<0.05
        print(f"| ciba − {other} | {metric} | {mean(d):+.2f} | [{lo:+.2f}, {hi:+.2f}] | {sum(x>0 for x in d)}/{len(d)} | {p:.3f} | {'significant' if sig else 'no significant difference'} |")
