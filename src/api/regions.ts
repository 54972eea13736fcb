/**
 * DescribeRegions (spec protocol.md section 12): the configured regions, in the wrapped
 * `Regions.Region[]` shape of the older Describe* APIs. No RegionId: the SDK does not send one.
 */
import { defineOperation } from './operation.js';

/** Local names for the default regions, in the two languages the API documents. */
const NAMES: Readonly<Record<string, readonly [string, string]>> = {
  'cn-hangzhou': ['华东1（杭州）', 'China (Hangzhou)'],
  'cn-shanghai': ['华东2（上海）', 'China (Shanghai)'],
  'cn-qingdao': ['华北1（青岛）', 'China (Qingdao)'],
  'cn-beijing': ['华北2（北京）', 'China (Beijing)'],
  'cn-zhangjiakou': ['华北3（张家口）', 'China (Zhangjiakou)'],
  'cn-huhehaote': ['华北5（呼和浩特）', 'China (Hohhot)'],
  'cn-wulanchabu': ['华北6（乌兰察布）', 'China (Ulanqab)'],
  'cn-shenzhen': ['华南1（深圳）', 'China (Shenzhen)'],
  'cn-heyuan': ['华南2（河源）', 'China (Heyuan)'],
  'cn-guangzhou': ['华南3（广州）', 'China (Guangzhou)'],
  'cn-chengdu': ['西南1（成都）', 'China (Chengdu)'],
  'cn-hongkong': ['中国香港', 'China (Hong Kong)'],
  'ap-northeast-1': ['日本（东京）', 'Japan (Tokyo)'],
  'ap-northeast-2': ['韩国（首尔）', 'South Korea (Seoul)'],
  'ap-southeast-1': ['新加坡', 'Singapore'],
  'ap-southeast-3': ['马来西亚（吉隆坡）', 'Malaysia (Kuala Lumpur)'],
  'ap-southeast-5': ['印度尼西亚（雅加达）', 'Indonesia (Jakarta)'],
  'ap-southeast-6': ['菲律宾（马尼拉）', 'Philippines (Manila)'],
  'ap-southeast-7': ['泰国（曼谷）', 'Thailand (Bangkok)'],
  'us-west-1': ['美国（硅谷）', 'US (Silicon Valley)'],
  'us-east-1': ['美国（弗吉尼亚）', 'US (Virginia)'],
  'eu-central-1': ['德国（法兰克福）', 'Germany (Frankfurt)'],
  'eu-west-1': ['英国（伦敦）', 'UK (London)'],
  'me-east-1': ['阿联酋（迪拜）', 'UAE (Dubai)'],
  'me-central-1': ['沙特（利雅得）', 'Saudi Arabia (Riyadh)'],
};

function endpointOf(regionId: string): string {
  // The central endpoint serves the regions the VPC docs list with it; others have their own.
  return [
    'cn-hangzhou',
    'cn-shanghai',
    'cn-qingdao',
    'cn-beijing',
    'cn-shenzhen',
    'cn-hongkong',
    'ap-southeast-1',
    'us-west-1',
    'us-east-1',
  ].includes(regionId)
    ? 'vpc.aliyuncs.com'
    : `vpc.${regionId}.aliyuncs.com`;
}

export const regionOperations = [
  defineOperation({
    action: 'DescribeRegions',
    summary: 'Lists the regions this server answers for.',
    access: 'read',
    params: {
      AcceptLanguage: { type: 'string', enum: ['zh-CN', 'en-US', 'ja'], doc: 'Language of LocalName.' },
      ProductType: { type: 'string', maxLength: 64, doc: 'Accepted and ignored.' },
    },
    resource: '*',
    errors: [],
    response: {
      Regions: {
        wrapped: 'Region',
        list: { fields: { RegionId: 'string', LocalName: 'string', RegionEndpoint: 'string' } },
      },
    },
    handler: async (ctx, input) => {
      const english = input.AcceptLanguage === 'en-US' || input.AcceptLanguage === 'ja';
      return {
        Regions: {
          Region: ctx.services.regions.map((id) => ({
            RegionId: id,
            LocalName: NAMES[id]?.[english ? 1 : 0] ?? id,
            RegionEndpoint: endpointOf(id),
          })),
        },
      };
    },
  }),
];
