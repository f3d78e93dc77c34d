import { readFer2013 } from '@emodetect/preprocess/node';
const t = Date.now();
const ds = await readFer2013('../shared/data/fer2013/fer2013.csv.gz');
console.log(ds.count, Date.now() - t, 'ms', ds.labels.slice(0, 10), ds.splits[28709], ds.pixels.slice(0,5));
