"""Review scores, dates and Portuguese comment texts.

Scores depend on what happened to the order (STATS §7): late deliveries score about 2.6 and
on-time ones about 4.3; orders that never arrive mostly get one star (with the per-status one-star
shares of §2). The on-time distribution is solved from the published overall distribution, so the
mix comes out right. Comment texts are short Portuguese sentences written for this generator
(not taken from the real reviews); titles are missing for ~88% and messages for ~59% of reviews.
"""

from __future__ import annotations

import numpy as np

from .timeline import DAY, NOT_DELIVERED

SCORES = np.array([1, 2, 3, 4, 5])
# chosen: score mix of late deliveries, by how late (mean over both ~2.57, the published late mean).
LATE_UP_TO_3_DAYS = np.array([0.28, 0.09, 0.15, 0.17, 0.31])
LATE_MORE_THAN_3_DAYS = np.array([0.55, 0.10, 0.10, 0.09, 0.16])
SHARE_LATE_UP_TO_3_DAYS = 0.40   # derived from the §10 lateness buckets (S-DQ)
# chosen: 2-, 3- and 4-star shares of a never-delivered order (5 stars take the rest after one star),
# and the one-star share of statuses STATS has no number for (created, approved).
NOT_DELIVERED_2_TO_4 = np.array([0.06, 0.08, 0.06])
DEFAULT_ONE_STAR_SHARE = 0.7
# chosen: chance that a review has a message / title, by score (gives the §7b missing shares).
MESSAGE_SHARE = np.array([0.78, 0.72, 0.55, 0.36, 0.32])
TITLE_SHARE_WITH_MESSAGE = 0.22
TITLE_SHARE_WITHOUT_MESSAGE = 0.045
LINE_BREAK_SHARE = 0.12          # chosen: share of sentence joins written as a line break
SENTENCES_PER_MESSAGE = np.array([0.56, 0.30, 0.11, 0.03])
# chosen: answer delay (days) after the survey, lognormal fitted to the §7b median and p75.
ANSWER_MEDIAN_D = 1.67
ANSWER_SIGMA = 0.92
# chosen: a repeat order placed within a day of the previous one shares its review (§7b reused ids).
SESSION_REVIEW_REUSE = 0.85

POSITIVE = [
    "Recebi o produto antes do prazo.", "Produto muito bom, recomendo.", "Chegou tudo certinho, bem embalado.",
    "Excelente qualidade, superou minhas expectativas.", "Entrega rápida e produto conforme o anúncio.",
    "Adorei, comprarei novamente.", "Ótimo custo benefício.", "Loja confiável, tudo dentro do prazo.",
    "Meu filho amou o presente.", "Produto de ótima qualidade.", "Veio exatamente como na foto.",
    "Chegou bem antes da data prevista, parabéns!", "Tudo ok.", "Muito satisfeita com a compra.",
    "Bom produto, entrega no prazo.", "Recomendo a loja e o vendedor.", "Material resistente e bonito.",
    "Funciona perfeitamente.", "Atendeu todas as minhas necessidades.", "Embalagem caprichada, produto intacto.",
    "Gostei muito, o tamanho é ideal.", "Parabéns pela agilidade na entrega.", "Compra tranquila, sem problemas.",
    "Lindo, igual ao da foto.", "Super recomendo!", "Produto original e bem acabado.",
    "A entrega foi super rápida.", "Estou muito feliz com a compra.", "Perfeito, obrigado!",
    "Chegou em 3 dias, muito rápido.",
]
NEUTRAL = [
    "O produto é bom, mas a entrega demorou um pouco.", "Veio com um pequeno defeito, mas dá para usar.",
    "Razoável, esperava mais pelo preço.", "A cor é um pouco diferente da foto.",
    "Chegou no prazo, mas a embalagem estava amassada.", "Produto ok, nada de especial.",
    "O tamanho é menor do que eu imaginava.", "Ainda não testei o produto.", "Atendeu parcialmente.",
    "Faltou o manual de instruções.", "Qualidade mediana.", "Entrega dentro do prazo, produto simples.",
    "Bom, mas o acabamento deixa a desejar.", "Chegou só uma parte do pedido, o resto veio depois.",
]
NEGATIVE = [
    "Não recebi o produto.", "Até agora não recebi minha encomenda.", "Produto veio com defeito.",
    "Comprei dois itens e recebi apenas um.", "Veio errado, diferente do que pedi.",
    "Péssimo atendimento, ninguém responde.", "Quero meu dinheiro de volta.", "O produto chegou quebrado.",
    "Prazo de entrega não foi cumprido.", "Não recomendo essa loja.", "Qualidade muito ruim, parece falsificado.",
    "Já faz semanas e nada de entrega.", "Paguei e o pedido foi cancelado sem explicação.",
    "O rastreamento não atualiza.", "A entrega atrasou muito.", "Recebi o produto errado e ainda não tive retorno.",
    "Material frágil, quebrou no primeiro uso.", "Solicitei a troca e não obtive resposta.", "Não funciona.",
    "Produto diferente do anunciado.", 'Veio escrito "amostra" na caixa.',
]
TITLES = {
    "positive": ["Recomendo", "Ótimo", "Excelente", "Super recomendo", "Muito bom", "Perfeito", "Adorei", "Bom",
                 "Ótimo produto", "Satisfeita", "Nota 10", "Chegou rápido"],
    "neutral": ["Razoável", "Regular", "Bom, mas...", "Ok", "Mais ou menos", "Poderia ser melhor"],
    "negative": ["Péssimo", "Não recebi", "Decepcionado", "Produto com defeito", "Não recomendo", "Ruim",
                 "Atraso na entrega", "Horrível"],
}
MESSAGES_PER_SENTIMENT = 4000


def sentiment_of(score: np.ndarray) -> np.ndarray:
    """0 = negative (1-2 stars), 1 = neutral (3), 2 = positive (4-5)."""
    return np.where(score <= 2, 0, np.where(score == 3, 1, 2))


def build_text_pools(rng: np.random.Generator) -> tuple[list[list[str]], list[list[str]]]:
    """Per sentiment (negative, neutral, positive): composed messages and titles."""
    messages = []
    for sentences in (NEGATIVE, NEUTRAL, POSITIVE):
        pool = []
        n_sent = rng.choice(np.arange(1, 5), size=MESSAGES_PER_SENTIMENT, p=SENTENCES_PER_MESSAGE)
        for k in n_sent:
            picked = [sentences[i] for i in rng.choice(len(sentences), size=int(k), replace=False)]
            text = picked[0]
            for sentence in picked[1:]:
                text += ("\r\n" if rng.random() < LINE_BREAK_SHARE else " ") + sentence
            pool.append(text)
        messages.append(pool)
    titles = [TITLES["negative"], TITLES["neutral"], TITLES["positive"]]
    return messages, titles


def score_mixes(targets: dict) -> dict[str, np.ndarray]:
    """Score distributions for on-time, late (two bands) and each never-delivered status.

    The on-time mix is whatever makes the expected overall mix equal the published one (§7a), given
    the published status mix (§2) and late share (§10).
    """
    published = targets["review_scores"]
    total = np.array([published["counts"][str(s)] for s in SCORES], dtype=float)
    total /= total.sum()
    statuses = targets["order_status"]["counts"]
    n_orders = sum(statuses.values())
    one_star = published["one_star_share_by_status"]
    mixes: dict[str, np.ndarray] = {}
    for status in NOT_DELIVERED:
        q = one_star.get(status, DEFAULT_ONE_STAR_SHARE)
        mix = np.concatenate([[q], NOT_DELIVERED_2_TO_4, [max(1 - q - NOT_DELIVERED_2_TO_4.sum(), 0.0)]])
        mixes[status] = mix / mix.sum()
    late = SHARE_LATE_UP_TO_3_DAYS * LATE_UP_TO_3_DAYS + (1 - SHARE_LATE_UP_TO_3_DAYS) * LATE_MORE_THAN_3_DAYS
    delivered_share = statuses["delivered"] / n_orders
    late_share = targets["delivery"]["late_orders"] / targets["delivery"]["late_base"] * delivered_share
    on_time_share = delivered_share - late_share
    rest = sum(statuses[s] / n_orders * mixes[s] for s in NOT_DELIVERED)
    on_time = np.maximum(total - late_share * late - rest, 0.0) / on_time_share
    mixes["on_time"] = on_time / on_time.sum()
    mixes["late_up_to_3_days"] = LATE_UP_TO_3_DAYS
    mixes["late_more_than_3_days"] = LATE_MORE_THAN_3_DAYS
    return mixes


def draw_scores(
    rng: np.random.Generator,
    mixes: dict[str, np.ndarray],
    status: np.ndarray,
    days_late: np.ndarray,
) -> np.ndarray:
    """One score per order. `days_late` is delivered minus estimated in days (NaN if not delivered);
    a "delivered" order without a delivery date scores like a shipped one."""
    n = status.size
    table = [mixes["on_time"], mixes["late_up_to_3_days"], mixes["late_more_than_3_days"]]
    table += [mixes[s] for s in NOT_DELIVERED]
    delivered = ~np.isnan(days_late)
    kind = np.where(
        delivered,
        np.where(days_late <= 0, 0, np.where(days_late <= 3, 1, 2)),
        3 + np.maximum(status - 1, 0),
    )
    cdf = np.cumsum(np.vstack(table), axis=1)[kind]
    return SCORES[np.minimum((rng.random(n)[:, None] >= cdf).sum(axis=1), 4)]


def survey_dates(rng: np.random.Generator, basis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(creation midnight, answer time) from the day the survey is triggered.

    Surveys go out the next day, in batches that skip Mondays and most Sundays (§3 weekday note).
    """
    creation = (basis // DAY + 1) * DAY
    weekday = (creation // DAY + 3) % 7  # Monday = 0
    creation = np.where(weekday == 0, creation + DAY, creation)
    sunday = (weekday == 6) & (rng.random(basis.size) < 0.6)
    creation = np.where(sunday, creation + 2 * DAY, creation)
    answer = creation + (rng.lognormal(np.log(ANSWER_MEDIAN_D), ANSWER_SIGMA, basis.size) * DAY).astype(np.int64)
    return creation, answer
