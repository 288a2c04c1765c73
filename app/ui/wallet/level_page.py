"""Level & medallions: the routing tier, the membership card's level and the medallions held, each
step with what it unlocks (`resources/wallet/perks.yaml` via `app.wallet.perks`); the level
upgrade (its price shown) through `app.wallet.staking.upgrade_level`: join, approve and upgrade,
each simulated, confirmed and tracked."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from PySide6.QtWidgets import QLabel, QPushButton, QWidget

from app.ui.wallet.chain_page import ChainPage, ChainSource, grouped
from app.wallet import perks, staking
from app.wallet.chain import ChainWallet
from app.wallet.perks import Standing, Step


@dataclass(frozen=True)
class LevelView:
    standing: Standing
    medallion_kinds: dict[int, perks.Perk]  # every kind there is, held or not

    @property
    def next_level(self) -> Step | None:
        return next((step for step in self.standing.levels if not step.held and step.number > 0), None)


def _rows(steps: list[tuple[bool, str, str]]) -> str:
    return "".join(f"<tr><td>{'✔' if held else '·'}</td><td><b>{escape(name)}</b></td><td>{escape(unlocks)}</td></tr>"
                   for held, name, unlocks in steps)


def describe_standing(view: LevelView) -> str:
    """Rich text: the tier, the level, then each step with what it unlocks (✔: held)."""
    s = view.standing
    level = "no membership card yet" if s.level is None else f"card at level {s.level} ({s.levels[s.level].name})"
    tiers = [(t.held, f"Tier {t.number} · {t.name}" + (f" (stake {grouped(t.price)} AGT)" if t.price else ""),
              t.unlocks) for t in s.tiers]
    levels = [(lv.held, f"Level {lv.number} · {lv.name}" + (f" ({grouped(lv.price)} AGT)" if lv.price else ""),
               lv.unlocks) for lv in s.levels]
    held = {m.number for m in s.medallions}
    medals = [(kind in held, perk.name, perk.unlocks) for kind, perk in sorted(view.medallion_kinds.items())]
    return (f"<p>Routing tier <b>{s.routing_tier}</b>: stake tier {s.stake_tier}, {level}. "
            f"Medallions held: {len(held)}.</p>"
            f"<h4>Stake tiers</h4><table>{_rows(tiers)}</table>"
            f"<h4>Card levels</h4><table>{_rows(levels)}</table>"
            f"<h4>Medallions</h4><table>{_rows(medals)}</table>")


class LevelPage(ChainPage):
    def __init__(self, source: ChainSource, parent: QWidget | None = None) -> None:
        super().__init__(source, parent)
        self.text = QLabel()
        self.text.setObjectName("wallet-standing")
        self.text.setWordWrap(True)
        self.body.addWidget(self.text)
        self.upgrade_button: QPushButton = self.button("wallet-upgrade", "Upgrade the card", self.upgrade)
        self.body.addWidget(self.upgrade_button)

    def read_data(self, cw: ChainWallet) -> LevelView:
        table = perks.load_perks()
        return LevelView(perks.standing(cw.suite, cw.address, table), dict(table.medallions))

    def show_data(self, data: LevelView) -> None:
        self.text.setText(describe_standing(data))
        step = data.next_level
        if step is None:
            self.upgrade_button.setText("The card is at the highest level")
        else:
            join = " (joins first: mints the free card)" if data.standing.level is None else ""
            self.upgrade_button.setText(f"Upgrade to level {step.number} · {step.name}: "
                                        f"burns {grouped(step.price or 0)} AGT{join}")

    def action_enabled(self, button: QPushButton) -> bool:
        return self.data.next_level is not None

    def upgrade(self) -> None:
        self.run_action("Level upgrade", lambda cw, ok: staking.upgrade_level(cw, ok))
