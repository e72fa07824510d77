// Before the first upload: the shape of an image URL, so a new customer sees where their images
// will be and what options look like.
import { deliveryUrl } from '../lib/urlBuilder';
import { edgeOrigin } from '../lib/useDeliveryUrl';
import { CopyField } from './CopyButton';

export function TemplateUrl({ publicKey }: { publicKey: string }) {
  return (
    <div style={{ marginTop: '1rem' }}>
      <CopyField
        id="template-url"
        label="Your images’ URLs will look like this (your-image.jpg is the path you upload to)"
        value={deliveryUrl(edgeOrigin(), publicKey, 'your-image.jpg', 'w=800&format=auto')}
      />
    </div>
  );
}
