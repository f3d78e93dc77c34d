import { LiveView } from '../src/components/LiveView.tsx';

export default function LivePage() {
  return <LiveView />;
}
