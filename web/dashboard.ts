// The payee dashboard: what the payee's store holds (accepted), what is on-chain (claimed), what only the
// stored voucher secures (at risk), and accepted income over time as an inline SVG.
import { formatEther } from "viem";

interface Row {
  channelId: string;
  payer: string;
  status: string;
  deposit: string;
  accepted: string;
  claimed: string;
  atRisk: string;
  member: boolean;
}

interface Dashboard {
  payee: string;
  totals: { channels: number; members: number; accepted: string; claimed: string; atRisk: string };
  channels: Row[];
  income: { at: number; accepted: string }[];
  tips: { author: string; received: string; count: number; claimable: string; held: string };
}

const $ = (id: string) => document.querySelector(`[data-testid="${id}"]`) as HTMLElement;
const eth = (wei: string) => formatEther(BigInt(wei));
const SVG = "http://www.w3.org/2000/svg";

function plot(points: Dashboard["income"]): void {
  const svg = $("plot");
  const width = 800;
  const height = 220;
  const pad = 28;
  const first = points[0]?.at ?? 0;
  const last = points.at(-1)?.at ?? first + 1;
  const top = points.reduce((max, p) => (BigInt(p.accepted) > max ? BigInt(p.accepted) : max), 1n);
  const x = (at: number) => pad + ((at - first) / Math.max(last - first, 1)) * (width - 2 * pad);
  // Scaled in bigint first so large wei amounts keep their precision, then to a pixel.
  const y = (wei: bigint) => height - pad - (Number((wei * 10_000n) / top) / 10_000) * (height - 2 * pad);
  const path = points.map((p, i) => `${i === 0 ? "M" : "L"}${x(p.at).toFixed(1)},${y(BigInt(p.accepted)).toFixed(1)}`).join(" ");
  const element = (name: string, attributes: Record<string, string>, text?: string) => {
    const node = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    return node;
  };
  svg.replaceChildren(
    element("line", { x1: String(pad), y1: String(height - pad), x2: String(width - pad), y2: String(height - pad), stroke: "#c9cedb" }),
    element("line", { x1: String(pad), y1: String(pad), x2: String(pad), y2: String(height - pad), stroke: "#c9cedb" }),
    element("path", { d: `${path} L${x(last).toFixed(1)},${height - pad} L${pad},${height - pad} Z`, fill: "rgba(42,109,244,0.12)", stroke: "none" }),
    element("path", { d: path, fill: "none", stroke: "#2a6df4", "stroke-width": "2.5" }),
    element("text", { x: String(pad + 4), y: String(pad - 8), "font-size": "12", fill: "#687087" }, `${formatEther(top)} ETH`),
    element("text", { x: String(width - pad), y: String(height - 8), "font-size": "12", fill: "#687087", "text-anchor": "end" }, `${Math.round((last - first) / 1000)} s`),
  );
}

async function refresh(): Promise<void> {
  const data = (await (await fetch("/api/dashboard")).json()) as Dashboard;
  $("total-channels").textContent = String(data.totals.channels);
  $("total-members").textContent = String(data.totals.members);
  $("total-accepted").textContent = eth(data.totals.accepted);
  $("total-claimed").textContent = eth(data.totals.claimed);
  $("total-at-risk").textContent = eth(data.totals.atRisk);
  $("total-accepted").dataset.wei = data.totals.accepted;
  $("total-claimed").dataset.wei = data.totals.claimed;
  $("total-at-risk").dataset.wei = data.totals.atRisk;
  $("tips-count").textContent = String(data.tips.count);
  for (const [id, wei] of [["tips-received", data.tips.received], ["tips-claimable", data.tips.claimable], ["tips-held", data.tips.held]] as const) {
    $(id).textContent = eth(wei);
    $(id).dataset.wei = wei;
  }
  const body = $("channels");
  body.replaceChildren(
    ...data.channels.map((row) => {
      const tr = document.createElement("tr");
      const cells = [`${row.channelId.slice(0, 14)}...`, `${row.payer.slice(0, 10)}...`, row.status, eth(row.deposit), eth(row.accepted), eth(row.claimed), eth(row.atRisk), row.member ? "member" : "-"];
      for (const text of cells) {
        const td = document.createElement("td");
        td.textContent = text;
        tr.append(td);
      }
      tr.dataset.channelId = row.channelId;
      return tr;
    }),
  );
  plot(data.income);
  document.body.dataset.loaded = "true";
}

$("claim").addEventListener("click", () => {
  $("claim-status").textContent = "claiming...";
  void fetch("/api/claim", { method: "POST" })
    .then(async (response) => {
      // One transaction per token the claimed channels are in.
      const body = (await response.json()) as { hash: string; gasUsed: string }[] | { error?: string };
      $("claim-status").textContent = Array.isArray(body)
        ? `claimed in ${body.map((tx) => `${tx.hash.slice(0, 12)}... (gas ${tx.gasUsed})`).join(", ")}`
        : `${body.error}`;
      await refresh();
    });
});

void refresh();
setInterval(() => void refresh(), 1000);
