"""Prompt-injection detection for customer messages and knowledge-base documents (English, Chinese, German).

Two layers, because each misses what the other catches:

1. **Patterns** — the shapes attacks keep taking: "ignore previous instructions", asking for the system prompt,
   role-play jailbreaks ("you are now DAN", "developer mode"), asking for another customer's orders or data,
   instructions addressed to the assistant hidden in a document ("note to the AI: ..."). A pattern hit is an
   attack (score 0.97). They are written so that ordinary requests with the same words stay benign: "ignore my
   previous message" names no *instructions*; "what is your system for returns" asks for no *prompt*.
2. **A small trained head** (logistic regression over the shared USE-multilingual embedding, shipped in
   `assets/respond/injection/`, trained by `scripts/train_injection.py` on the *dev* half of
   `benchmarks/data/injection_labelled.jsonl`, hand-written look-alikes and ordinary customer questions) catches
   paraphrases the patterns do not list. Held-out numbers: `benchmarks/respond_kb.py`.

Messages are checked by both layers; documents (`context="document"`) by the patterns alone, leaving out requests
for other customers' data (a privacy page may well say "we never share another customer's orders").

`detect_injection(texts)` returns one `InjectionVerdict` per text, batched (one embedding call).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

HEAD_DIR = Path(__file__).resolve().parents[1] / "assets" / "respond" / "injection"
PATTERN_SCORE = 0.97
MAX_CHARS = 4000  # what the head sees of a long text (patterns see it all)



@dataclass(frozen=True)
class InjectionVerdict:
    is_attack: bool
    score: float  # in [0, 1]: the head's probability, or PATTERN_SCORE for a pattern hit
    reason: str  # "" when benign


def _re(pattern: str) -> re.Pattern:
    return re.compile(pattern, re.IGNORECASE | re.DOTALL)


_ANY = r"[^.!?。！？\n]{0,40}?"  # a few words, within one sentence
_INSTR_EN = (r"(?:instructions?|prompts?|rules|directives?|guidelines|guardrails|programming|constraints|"
             r"system\s+message|safety\s+(?:rules|filters?|settings))")
_INSTR_ZH = r"(?:指令|指示|规则|提示词|提示|设定|设置|限制|命令|约束|系统消息|安全策略|准则)"
_INSTR_DE = (r"(?:anweisung(?:en)?|instruktion(?:en)?|regeln|vorgaben|befehle|richtlinien|systemanweisung(?:en)?|"
             r"einschränkungen|prompts?|sicherheitsregeln)")
_PERSON_EN = (r"(?:customers?|users?|clients?|buyers?|members?|people|persons?|account\s+holders?)"
              r"(?!\s+(?:service|support|care|experience|reviews?|feedback|satisfaction))")
_DATA_EN = (r"(?:orders?|order\s+history|purchases?|purchase\s+history|address(?:es)?|e-?mails?|phone(?:\s+numbers?)?|"
            r"numbers?|accounts?|account\s+details|data|details|info(?:rmation)?|records?|passwords?|"
            r"payment|card(?:\s+numbers?)?|invoices?|tracking|personal)")
_DATA_ZH = r"(?:订单|地址|电话|手机号|账户|账号|帐号|信息|数据|资料|邮箱|购买记录|密码|银行卡|卡号|发票|物流|隐私|收货)"
_DATA_DE = (r"(?:bestellung(?:en)?|adressen?|anschrift|daten|konto|kontos|kundenkonto|telefonnummer|e-?mail|"
            r"passwort|zahlungsdaten|kreditkarte|rechnung(?:en)?|informationen|kaufhistorie|sendungsnummer)")

PATTERNS: list[tuple[re.Pattern, str]] = [
    # --- override the instructions -----------------------------------------------------------------------------
    (_re(r"\b(?:ignore|disregard|forget|override|bypass|skip|drop|abandon|discard|neglect)\b(?!\s+(?:my|our)\b)"
         rf"{_ANY}\b(?:previous|prior|above|earlier|preceding|initial|original|all|any|your|the|existing|system|"
         rf"safety|old)\b{_ANY}\b{_INSTR_EN}"), "asks to override the assistant's instructions"),
    (_re(rf"\b(?:new|updated|real|true|secret|hidden)\s+{_INSTR_EN}\s*[:：]"), "brings 'new instructions'"),
    (_re(r"\b(?:do\s+not|don't|stop)\s+(?:follow(?:ing)?|obey(?:ing)?)\b" rf"{_ANY}{_INSTR_EN}"),
     "asks to stop following instructions"),
    (_re(r"(?:忽略|无视|忽视|忘记|忘掉|跳过|抛开|不要理会|别管|不用管|不要遵守|别遵守|停止遵守|绕过|违背|覆盖)"
         rf"[^。！？\n]{{0,20}}?{_INSTR_ZH}"), "asks to override the assistant's instructions"),
    (_re(rf"新的?{_INSTR_ZH}\s*[:：]"), "brings 'new instructions'"),
    (_re(rf"(?:之前|以前|原来|先前|上面|以上|原有|所有)的?[^。！？\n]{{0,6}}?{_INSTR_ZH}[^。！？\n]{{0,6}}?"
         r"(?:作废|失效|无效|取消|过时|不算数|解除)"), "claims the instructions have changed"),
    (_re(r"(?:忽略|无视|忘记|忘掉|跳过|抛开)(?:以上|上面|之前|前面)的?(?:内容|对话|上下文|文字)?"),
     "asks to override the assistant's instructions"),
    (_re(r"(?:输出|打印|复述|重复|显示|给我看|发给我|翻译)[^。！？\n]{0,10}?(?:上面|以上|之前|前面)的?(?:全部|所有)?"
         r"(?:内容|文字|文本|话|对话)"), "asks for the text above the conversation"),
    (_re(r"(?:开发者|开发人员|工程师|程序员|管理员)(?:让|叫|要求|告诉|吩咐|交代)(?:了)?你"),
     "asks how the assistant was instructed"),
    (_re(r"(?:账户|账号|帐号|帐户)\s*[#号]?\s*\d{4,}[^。！？\n]{0,12}?(?:银行卡|卡号|密码|地址|电话|手机号|邮箱)"),
     "asks for the data of an account by number"),
    (_re(rf"(?:那个|这个|上一个|上一位|前一个|前一位|刚才的?|下一个)(?:客户|顾客|用户|人|买家)的[^，,。！？\n]{{0,4}}?{_DATA_ZH}"),
     "asks for another customer's data"),
    (_re(r"告诉我(?:他|她|他们)(?:还)?(?:买了|下了|订了)"), "asks for another person's orders"),
    (_re(r"\b(?:ignorier\w*|vergiss|vergessen|missacht\w*|übergeh\w*|umgeh\w*|überschreib\w*|verwirf|befolge\s+nicht|"
         rf"hör\s+auf){_ANY}\b{_INSTR_DE}"), "asks to override the assistant's instructions"),
    (_re(rf"\bneue\s+{_INSTR_DE}\s*:"), "brings 'new instructions'"),
    (_re(rf"\b(?:früheren|bisherigen|vorherigen|alten|ursprünglichen|alle)\s+(?:\w+\s+)?{_INSTR_DE}\s+(?:sind|ist|waren)\s+"
         r"(?:jetzt\s+|nun\s+|ab\s+sofort\s+)?(?:ungültig|aufgehoben|hinfällig|nichtig|außer\s+kraft|ein\s+test|"
         r"gelöscht|deaktiviert)|\b(?:echten|wahren|eigentlichen|aktuellen)\s+" rf"{_INSTR_DE}" r"\s+(?:lauten|sind)"),
     "claims the instructions have changed"),
    (_re(r"\b(?:ignorier\w*|vergiss|missacht\w*)\s+(?:den|die|das)\s+(?:kontext|inhalt|text|unterhaltung)\s+"
         r"(?:oben|davor|vorher|zuvor)"), "asks to override the assistant's instructions"),
    (_re(r"\b(?:wiederhol\w*|gib|zeig\w*|druck\w*|kopier\w*|übersetz\w*)\b[^.!?\n]{0,30}\b(?:text|alles|inhalt)\s+"
         r"(?:über|oberhalb|vor)\s+(?:dieser|der|meiner)\s+(?:nachricht|unterhaltung|frage)"),
     "asks for the text above the conversation"),
    (_re(rf"\b\w*{_DATA_DE}[\w-]*\s+(?:des|der)\s+(?:kunden|kundin|käufers|person|nutzers)\s*,?\s+(?:der|die|welche)\b"),
     "asks for another customer's data"),
    (_re(rf"\b{_DATA_DE}[\w-]*\s+(?:aller|anderer|fremder)\s+(?:kunden|nutzer|benutzer|käufer|mitglieder)"),
     "asks for other customers' data"),
    (_re(rf"\bkonto\s*(?:nr\.?|nummer)?\s*\d{{4,}}|\b{_DATA_DE}[\w-]*\s+(?:aus|von|in)\s+(?:ihrem|seinem|deren)\s+"
         r"(?:\w+-)?konto"), "asks for the data of an account by number"),
    # --- extract the system prompt -----------------------------------------------------------------------------
    (_re(r"\b(?:system\s*prompt|system\s+message|initial\s+prompt|hidden\s+(?:prompt|instructions?|rules)|"
         r"developer\s+(?:message|prompt|instructions?)|pre-?prompt|meta-?prompt)\b"),
     "asks about the system prompt"),
    (_re(r"\b(?:reveal|show|print|repeat|output|display|leak|dump|recite|paste|copy|share|spell\s+out|"
         r"tell\s+me|give\s+me|write\s+out|list|summari[sz]e|translate|what\s+(?:are|were|is))\b" rf"{_ANY}\b"
         r"(?:your\s+(?:own\s+)?|the\s+(?=(?:exact|full|original|initial|internal|secret|confidential|hidden|system)\b))"
         r"(?:(?:exact|full|original|initial|internal|secret|confidential|complete|configuration|hidden|first)\s+)*"
         rf"(?:{_INSTR_EN}|configuration|instructions\s+(?:above|you\s+were\s+given))"
         r"(?!\s+(?:for|on|about|regarding)\s+(?!you|the\s+(?:ai|assistant|bot)))"),
     "asks for the assistant's instructions"),
    (_re(r"\b(?:repeat|print|output|show|reveal|recite|translate|copy|paste)\b" rf"{_ANY}"
         r"\b(?:everything|all|the\s+text|the\s+words|what\s+(?:is|was))(?:\s+(?:written|said|stated))?\s+"
         r"(?:above|before|prior)"), "asks for the text above the conversation"),
    (_re(r"\b(?:ignore|disregard|forget)\b" rf"{_ANY}"
         r"\b(?:(?:what|everything|anything)\s+(?:the\s+\w+\s+|they\s+|you\s+were\s+|you've\s+been\s+|"
         r"(?:your\s+)?developers?\s+)?(?:told|taught|instructed|programmed)|(?:previous|prior|above|earlier)\s+"
         r"context)"), "asks to override the assistant's instructions"),
    (_re(r"\b(?:previous|earlier|prior|old|original|initial)\s+" rf"{_INSTR_EN}" r"\s+(?:were|are|was|is)\s+"
         r"(?:a\s+test|void|fake|cancel+ed|invalid|outdated|revoked|no\s+longer\s+valid|lifted|suspended)|"
         r"\b(?:real|actual|true|updated)\s+" rf"{_INSTR_EN}" r"\s+(?:are|is)\s*[:：]?"),
     "claims the instructions have changed"),
    (_re(r"\bwhat\s+(?:else\s+)?(?:he|she|they|this\s+person|that\s+person)\s+(?:has\s+|have\s+)?"
         r"(?:ordered|bought|purchased)\b"), "asks for another person's orders"),
    (_re(rf"\b(?:give|tell|send|show|read)\s+me\b{_ANY}\b{_DATA_EN}\s+(?:on|of|from|in|for)\s+(?:his|her|their)\b"),
     "asks for another person's data"),
    (_re(rf"\b{_DATA_EN}\s+(?:of|for)\s+the\s+{_PERSON_EN}\s+(?:who|that)\b"), "asks for another customer's data"),
    (_re(r"\baccount\s*(?:no\.?|number|#)?\s*\d{4,}" rf"{_ANY}"
         r"\b(?:card|password|address|e-?mail|phone|payment)"), "asks for the data of an account by number"),
    (_re(r"\bwhat\s+(?:were\s+you|have\s+you\s+been)\s+(?:told|instructed|programmed)"),
     "asks how the assistant was instructed"),
    (_re(r"(?:系统提示|系统指令|系统消息|初始指令|初始提示|隐藏指令|隐藏提示|内部指令|预设指令|开发者指令|system\s*prompt)"),
     "asks about the system prompt"),
    (_re(r"(?:告诉我|给我|发给我|输出|打印|显示|复述|重复|泄露|透露|公开|展示|列出|贴出)[^。！？\n]{0,15}?"
         rf"(?:你的|你被|你收到的|你所有的|你全部的|原始|最初的?|上面的?|之前的?){_INSTR_ZH}"),
     "asks for the assistant's instructions"),
    (_re(rf"你(?:的|被设定的|收到的){_INSTR_ZH}(?:是什么|有哪些|原文|全文|内容)"), "asks for the assistant's instructions"),
    (_re(r"\b(?:systemprompt|system-prompt|systemnachricht|systemanweisung\w*|versteckte\w*\s+anweisung\w*|"
         r"initiale\w*\s+prompt|ursprünglich\w*\s+anweisung\w*)\b"), "asks about the system prompt"),
    (_re(r"\b(?:zeig\w*|gib|nenn\w*|verrat\w*|wiederhol\w*|druck\w*|ausgeben|gib\s+aus|poste|kopier\w*|teile?)\b"
         rf"{_ANY}\b(?:deine|ihre|die|deinen|ihren)\s+(?:\w+\s+)?{_INSTR_DE}"), "asks for the assistant's instructions"),
    (_re(r"\bwas\s+(?:steht|stand)\s+(?:über|vor|oberhalb)\s+(?:dieser|der)\s+(?:nachricht|unterhaltung)"),
     "asks for the text above the conversation"),
    # --- role-play jailbreaks ----------------------------------------------------------------------------------
    (_re(r"\b(?:you\s+are\s+now|from\s+now\s+on,?\s+you(?:'re|\s+are|\s+will)|you\s+will\s+now\s+act|"
         r"pretend\s+(?:to\s+be|you\s+are|you're)|act\s+as\s+(?:if\s+you\s+(?:are|were)|an?\s+(?:unrestricted|"
         r"unfiltered|evil|rogue|different))|role-?play\s+as|stay\s+in\s+character|simulate\s+an?\s+(?:ai|"
         r"assistant|chatbot)\s+(?:without|with\s+no))\b"), "role-play jailbreak"),
    (_re(r"\b(?:(?-i:DAN)|do\s+anything\s+now|developer\s+mode|dev\s+mode|god\s+mode|admin(?:istrator)?\s+mode|"
         r"maintenance\s+mode|debug\s+mode|jail\s*break(?:ed|ing)?|sudo\s+mode|unrestricted\s+mode)\b"),
     "role-play jailbreak"),
    (_re(r"\b(?:without|with\s+no|free\s+of|no\s+longer\s+(?:bound|restricted)\s+by)\s+(?:any\s+)?"
         r"(?:restrictions|filters|limits|limitations|rules|guidelines|censorship|content\s+polic(?:y|ies))\b"),
     "asks the assistant to drop its rules"),
    (_re(r"(?:你现在是|从现在(?:开始|起)，?你(?:是|就是|将|要)|你将扮演|请?扮演一个|假装你是|假设你是一个|角色扮演|进入"
         r"(?:开发者|管理员|调试|上帝|维护)模式|开发者模式|越狱|不受任何?限制|没有任何?限制|解除(?:所有)?限制|"
         r"无视安全|DAN模式)"), "role-play jailbreak"),
    (_re(r"(?:\bdu\s+bist\s+(?:jetzt|nun|ab\s+sofort|ab\s+jetzt)\b|\bab\s+(?:jetzt|sofort)\s+bist\s+du\b|"
         r"\btu\s+so,?\s+als\b|\bspiel\w*\s+(?:die\s+rolle|eine\s+rolle)|\brollenspiel\b|\bentwicklermodus\b|"
         r"\badmin-?modus\b|\bwartungsmodus\b|\bdebug-?modus\b|\bohne\s+(?:jegliche\s+|alle\s+)?"
         r"(?:einschränkungen|filter|regeln|zensur|beschränkungen)\b|\bkeine\s+regeln\s+mehr\b)"),
     "role-play jailbreak"),
    # --- another customer's data -------------------------------------------------------------------------------
    (_re(rf"\b(?:another|other|different|some\s+other|random|previous|last|next)\s+{_PERSON_EN}(?:'s|s'|')?"
         rf"{_ANY}(?<!\bmy\s)(?<!\bour\s)\b{_DATA_EN}\b"), "asks for another customer's data"),
    (_re(rf"\b(?:all|every|each)\s+(?:the\s+|of\s+your\s+)?{_PERSON_EN}(?:'s|s'|')\s+(?:\w+\s+)?{_DATA_EN}\b"),
     "asks for other customers' data"),
    (_re(rf"\b{_DATA_EN}\s+(?:of|for|from|belonging\s+to)\s+(?:another|other|a\s+different|some\s+other|"
         rf"(?:all|every|any)(?:\s+(?:of\s+)?(?:your|the))?|random|the\s+previous|the\s+last)\s+{_PERSON_EN}"),
     "asks for another customer's data"),
    # "someone else used my card" is a victim asking for help; "someone else's address" is a request
    (_re(rf"\b(?:someone|somebody|anyone|anybody)\s+else(?:'s|s)\s+(?:\w+\s+)?{_DATA_EN}\b|\b{_DATA_EN}\s+"
         r"(?:of|for|from|belonging\s+to)\s+(?:someone|somebody|anyone|anybody)\s+else\b"),
     "asks for another customer's data"),
    (_re(r"\b(?:customer|user|client)\s+(?:database|list|table|records|emails|addresses|data\s*base|dump)\b"),
     "asks for the customer database"),
    (_re(r"\b(?:my\s+)?(?:neighbou?r|ex|ex-wife|ex-husband|ex-girlfriend|ex-boyfriend|boss|colleague|coworker|"
         rf"roommate|landlord)(?:'s|s')\s+(?:\w+\s+)?{_DATA_EN}\b"), "asks for another person's data"),
    (_re(r"\b(?:who|which\s+(?:customer|person|user))\s+(?:ordered|bought|purchased|owns|placed)\b" rf"{_ANY}"
         r"\b(?:order|phone|account|number)"), "asks who another customer is"),
    (_re(r"(?:(?:其他|其它|别的|另一个|另一位|另外一个|另外一位|所有|全部|任何|随便一个|某个)的?(?:客户|用户|顾客|买家|会员)|"
         rf"别人|他人|其他人)的?[^，,。！？\n]{{0,6}}?{_DATA_ZH}"), "asks for another customer's data"),
    (_re(r"(?:客户|用户|顾客|会员)(?:数据库|名单|列表|资料库|信息表)"), "asks for the customer database"),
    (_re(rf"(?:邻居|前妻|前夫|前女友|前男友|老板|同事|室友|房东)的[^。！？\n]{{0,6}}?{_DATA_ZH}"),
     "asks for another person's data"),
    (_re(r"(?:谁|哪个(?:客户|用户|人)|哪位)(?:买了|下了|下单|购买了|拥有)[^。！？\n]{0,12}?(?:订单|手机|账号)"),
     "asks who another customer is"),
    (_re(rf"\b(?:anderer|anderen|eines\s+anderen|fremder|fremden|aller|alle|jedes|jeder)\s+"
         rf"(?:kunden|kundin|nutzers?|benutzers?|käufers?|person|leute|menschen|mitglieder)\b{_ANY}\b{_DATA_DE}"),
     "asks for another customer's data"),
    (_re(rf"\b{_DATA_DE}\s+(?:eines|einer|von)\s+(?:anderen|fremden|beliebigen)\s+(?:kunden|kundin|person|"
         r"nutzers?|benutzers?)"), "asks for another customer's data"),
    (_re(r"\b(?:kundendatenbank|kundenliste|kundendaten\s+aller|nutzerdatenbank|kundenstamm)\b"),
     "asks for the customer database"),
    (_re(rf"\b(?:meines|meiner|des|der)\s+(?:nachbarn|nachbarin|ex-frau|ex-mannes|chefs|chefin|kollegen|kollegin|"
         rf"mitbewohners|vermieters)\s+(?:\w+\s+)?{_DATA_DE}"), "asks for another person's data"),
    (_re(rf"\b{_DATA_DE}\s+(?:meines|meiner)\s+(?:nachbarn|nachbarin|ex-frau|ex-mannes|chefs|kollegen|kollegin)"),
     "asks for another person's data"),
    (_re(r"\bwer\s+(?:hat|besitzt)\b[^.!?\n]{0,30}\b(?:bestellt|gekauft|bestellung)"), "asks who another customer is"),
    # --- instructions hidden in documents, addressed to the model ---------------------------------------------
    (_re(r"\b(?:note|message|instructions?|reminder|directive)s?\s+(?:to|for)\s+(?:the\s+|any\s+)?(?:ai|assistant|"
         r"bot|chat\s*bot|language\s+model|llm|model|gpt|agent)s?\b"), "instructions addressed to the assistant"),
    (_re(r"(?:^|[\n.!?(\[]\s*|\b(?:dear|hey)\s+)(?:ai|assistant|chat\s*bot|bot|language\s+model|llm|gpt)s?\s*[:,]\s*"
         r"(?:please\s+)?(?:ignore|you\s+must|always|never|do\s+not|don't|from\s+now|tell|say|reply|respond|answer|"
         r"send|forward|include|recommend|disregard|reveal)"), "instructions addressed to the assistant"),
    (_re(r"\b(?:if|when)\s+(?:you\s+are\s+an?\s+|an?\s+|the\s+)?(?:ai|assistant|bot|chat\s*bot|language\s+model|llm)"
         r"\s+(?:is\s+)?(?:reading|reads|processing|processes|summari[sz]ing|sees)\b"),
     "instructions addressed to the assistant"),
    (_re(r"(?:<\s*/?\s*(?:system|instructions?|sys|im_start|im_end)\s*>|\[/?(?:system|inst|INST)\]|"
         r"<<\s*sys\s*>>|#{2,}\s*(?:system|instruction|new\s+instructions?|新的?指令|系统|neue\s+anweisung)|\bBEGIN\s+SYSTEM\b|"
         r"\b(?:system|assistant)\s*:\s*(?:ignore|you\s+must|override|new\s+rule))"), "fake system markup"),
    (_re(r"(?:(?:给|致|对)(?:(?:AI|人工智能)(?:助手|机器人|模型)?|助手|机器人|模型|客服机器人|语言模型)的?"
         r"(?:说明|指令|提示|留言|备注)|"
         r"(?:AI|人工智能|助手|机器人|模型)\s*[:：]\s*请?"
         r"(?:忽略|必须|务必|一定要|总是|不要|告诉|回复|推荐|发送)|"
         r"(?:如果|当)(?:你是)?(?:一个)?(?:(?:AI|人工智能)(?:助手|机器人|模型)?|助手|机器人|语言模型)(?:正)?(?:在)?"
         r"(?:读到|看到|阅读|处理|读))"),
     "instructions addressed to the assistant"),
    (_re(r"\b(?:hinweis|nachricht|anweisung(?:en)?)\s+(?:an|für)\s+(?:die|den|das)\s+(?:ki|assistent\w*|bot|"
         r"chatbot|sprachmodell|modell)\b|\b(?:ki|assistent|chatbot|bot)\s*[:,]\s*(?:bitte\s+)?(?:ignoriere|du\s+musst|"
         r"immer|niemals|sag|antworte|empfiehl|sende)|\bwenn\s+(?:du\s+)?(?:eine\s+ki|ein\s+sprachmodell|der\s+"
         r"assistent|ein\s+bot)\s+(?:bist|dies\s+liest|das\s+liest)"), "instructions addressed to the assistant"),
]

# A policy page may well say "we never share another customer's orders": requests for data are attacks only in
# messages, so documents are checked for the other kinds alone.
DATA_REASONS = frozenset(r for _, r in PATTERNS if "customer" in r or "person's data" in r)

# A customer taking back their *own* words ("please ignore my last message") is the commonest false alarm: the head
# reads "ignore" and fires. Such clauses are cut before the head sees the text (patterns still see all of it, so
# "ignore my last message and your instructions" is caught by them).
_OWN_WORDS = [
    _re(r"\b(?:please\s+)?(?:ignore|disregard|forget(?:\s+about)?|scratch|never\s*mind)\s+(?:my|the|that)\s+"
        r"(?:(?:previous|last|earlier|first|second|above|other|old)\s+)?(?:message|question|request|e-?mail|comment|"
        r"reply|text|address|order|one|answer|typo|chat)s?\b[,.;:!]?"),
    _re(r"请?(?:忽略|无视|不用管|别管|忘了|不要理会)我?(?:的)?(?:上一条|上条|刚才|之前|前面|第一条|先前)(?:的|发的|说的)?"
        r"(?:消息|问题|留言|话|地址|订单|内容)?[，,。！!]?"),
    _re(r"\b(?:bitte\s+)?(?:ignorieren\s+sie|ignoriere|ignorier|vergessen\s+sie|vergiss)\s+(?:bitte\s+)?(?:meine|die)\s+"
        r"(?:letzte|vorherige|erste|vorige|andere)\s+(?:nachricht|frage|adresse|e-?mail|anfrage|bestellung)\b[,.;:!]?"),
]


def head_text(text: str) -> str:
    """What the trained head reads of a text: normalised, cut to MAX_CHARS, the customer's retractions removed."""
    text = normalise(text[:MAX_CHARS])
    for pattern in _OWN_WORDS:
        text = pattern.sub(" ", text)
    return text.strip() or "."


_ZERO_WIDTH = re.compile(r"[\u200b-\u200f\u2060\ufeff\u00ad]")


def normalise(text: str) -> str:
    """NFKC (full-width letters, ligatures), no zero-width characters, single spaces: what the patterns see."""
    text = _ZERO_WIDTH.sub("", unicodedata.normalize("NFKC", text))
    return re.sub(r"[ \t]+", " ", text)


def match_patterns(text: str, context: str = "message") -> str:
    """The reason of the first pattern that matches, or ""."""
    t = normalise(text)
    for pattern, reason in PATTERNS:
        if context == "document" and reason in DATA_REASONS:
            continue
        if pattern.search(t):
            return reason
    return ""


@lru_cache(maxsize=1)
def _head():
    from townsquare.models.heads import Head

    if not (HEAD_DIR / "config.json").is_file():
        return None
    return Head.load(HEAD_DIR)


@lru_cache(maxsize=1)
def _default_embedder():
    from townsquare.models import get_embedder

    return get_embedder()  # loaded once per process, not once per call


def detect_injection(texts: list[str], *, vectors: np.ndarray | None = None, embedder=None,
                     context: str = "message") -> list[InjectionVerdict]:
    """One verdict per text. `vectors` (the texts' embeddings from the default embedder) skip re-embedding.
    `context`: "message" (a customer's) or "document" (knowledge-base text: asking for data is not checked)."""
    if not texts:
        return []
    if context not in ("message", "document"):
        raise ValueError(f"context must be 'message' or 'document', not {context!r}")
    reasons = [match_patterns(t, context) for t in texts]
    probs = np.zeros(len(texts), dtype=np.float32)
    # The head learned from customer messages; on knowledge-base prose it fires on harmless lines such as "they will
    # see everything we discussed" (and a flagged intent silently loses its answer), so documents get patterns only.
    head = _head() if context == "message" else None
    if head is not None:
        seen = [normalise(t[:MAX_CHARS]).strip() for t in texts]
        rest = [head_text(t) for t in texts]
        if vectors is None or len(vectors) != len(texts):
            vectors = (embedder or _default_embedder()).embed(rest)
        elif vectors.shape[1] == head.layers[0][0].shape[0]:
            cut = [i for i in range(len(texts)) if rest[i] != seen[i]]
            if cut:  # re-embed what is left once the customer's own retractions are cut
                vectors = np.array(vectors, dtype=np.float32, copy=True)
                vectors[cut] = (embedder or _default_embedder()).embed([rest[i] for i in cut])
        if vectors.shape[1] == head.layers[0][0].shape[0]:  # the head was trained on this embedder's space
            probs = np.asarray(head.predict_proba(np.asarray(vectors, dtype=np.float32)), dtype=np.float32)
    out = []
    for reason, p in zip(reasons, probs, strict=True):
        if reason:
            out.append(InjectionVerdict(True, max(PATTERN_SCORE, float(p)), reason))
        elif head is not None and p >= head.threshold:
            out.append(InjectionVerdict(True, float(p), "reads like a prompt injection (trained classifier)"))
        else:
            out.append(InjectionVerdict(False, float(p), ""))
    return out
