import * as tf from '@tensorflow/tfjs-core';
console.log(Object.keys(tf).filter(k=>/conv|Conv|depthwise|grads|fused/i.test(k)).join(' '));
console.log(Object.keys(tf.fused));
