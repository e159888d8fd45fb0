/** kube-proxy in its default nftables mode (the kernel forwards). */
import { kubeProxySuite } from './helpers/kube-proxy-suite.js';

kubeProxySuite('nftables');
